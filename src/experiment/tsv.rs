//! A plan as tab-separated text: one row per run with every parameter, in the columns
//! and order runs.parquet will have, so a sweep can be inspected before it runs.

use super::plan::Plan;
use super::spec::Value;
use crate::store::runs::parameter_columns;

/// Runs resolved at a time for a streamed plan.
const CHUNK: usize = 1 << 12;

/// The header line, then one line per run (without line ends). Lines are made as they
/// are taken, so a plan of a million runs is never held as text. A parameter a run
/// does not have (a model's key in a run of another model) is an empty field.
pub fn lines(plan: &Plan) -> impl Iterator<Item = String> + '_ {
    let columns = parameter_columns(plan);
    let mut header = vec!["run_id", "run_key", "label", "seed"];
    header.extend(columns.iter().map(|c| c.name.as_str()));
    let header = header.join("\t");
    let rows = plan.chunks(CHUNK).flatten().map(move |r| {
        let params = r.parameters(plan.indexed_inputs);
        let mut row = vec![
            r.run_id.to_string(),
            r.key.clone(),
            r.label.clone(),
            r.seed.to_string(),
        ];
        for c in &columns {
            let value = params.iter().find(|p| p.name == c.name).map(|p| &p.value);
            row.push(value.map(field).unwrap_or_default());
        }
        row.join("\t")
    });
    std::iter::once(header).chain(rows)
}

fn field(value: &Value) -> String {
    match value {
        Value::F64(x) => x.to_string(),
        Value::U64(x) => x.to_string(),
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
    }
}
