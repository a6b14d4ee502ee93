//! `neurodyn models`: every model's equations and parameters with default, unit and
//! meaning.

use super::failure::Failure;
use super::json::{self, Format, Versioned};
use crate::model::{self, ModelKind};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Only this model (its name as in `type:`)
    model: Option<String>,
    /// text: a table per model; json: one document (docs/JSON.md)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `models --format json`.
#[derive(Serialize)]
struct Models {
    models: Vec<Model>,
}

#[derive(Serialize)]
struct Model {
    name: &'static str,
    title: &'static str,
    equations: &'static str,
    /// Whether the membrane may be given as tau_m and R instead of C and g_L.
    membrane_alternative: bool,
    parameters: Vec<Parameter>,
}

#[derive(Serialize)]
struct Parameter {
    name: &'static str,
    /// None when derived from other parameters; `default_rule` says how.
    default: Option<f64>,
    default_rule: Option<&'static str>,
    /// The engine unit `default` is in.
    unit: &'static str,
    /// The unit of the parameter's runs-table column (`model_<name>_<column_unit>`).
    column_unit: &'static str,
    meaning: &'static str,
}

impl Model {
    fn of(kind: ModelKind) -> Model {
        Model {
            name: kind.name(),
            title: kind.title(),
            equations: kind.equations(),
            membrane_alternative: kind.def().membrane_alternative,
            parameters: kind
                .params()
                .iter()
                .map(|p| {
                    let (default, default_rule) = match p.default {
                        model::Default::Value(v) => (Some(v), None),
                        model::Default::Derived { text, .. } => (None, Some(text)),
                    };
                    Parameter {
                        name: p.name,
                        default,
                        default_rule,
                        unit: p.dim.unit(),
                        column_unit: p.dim.table_unit(),
                        meaning: p.meaning,
                    }
                })
                .collect(),
        }
    }
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
    if args.format == Format::Json {
        json::print(&Versioned::new(Models {
            models: kinds.into_iter().map(Model::of).collect(),
        }))?;
        return Ok(0);
    }
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
