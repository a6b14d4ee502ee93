//! `neurodyn models`: every model's equations and parameters with default, unit and
//! meaning.

use super::failure::Failure;
use crate::model::{self, ModelKind};

#[derive(clap::Args)]
pub struct Args {
    /// Only this model (its name as in `type:`)
    model: Option<String>,
}

pub fn execute(args: Args) -> Result<u8, Failure> {
    let kinds: Vec<ModelKind> = match args.model.as_deref() {
        None => ModelKind::ALL.to_vec(),
        Some(name) => match ModelKind::by_name(name) {
            Some(k) => vec![k],
            None => {
                let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                return Err(Failure::usage(
                    format!("unknown model '{name}'"),
                    format!("models: {}", names.join(", ")),
                ));
            }
        },
    };
    for kind in kinds {
        println!("{} — {}", kind.name(), kind.title());
        println!("  {}", kind.equations());
        println!("  {:<8} {:>13} {:<9} meaning", "key", "default", "unit");
        for p in kind.params() {
            let default = match p.default {
                model::Default::Value(v) => v.to_string(),
                model::Default::Derived { text, .. } => text.into(),
            };
            println!(
                "  {:<8} {:>13} {:<9} {}",
                p.name,
                default,
                p.dim.unit(),
                p.meaning
            );
        }
        if kind.def().membrane_alternative {
            println!("  (the membrane may be given as tau_m [ms] and R [MOhm, GOhm...] instead of C and g_L)");
        }
        println!();
    }
    Ok(0)
}
