//! A value as written in the experiment file, before its dimension is known: text
//! such as "10 ms", or a bare number. Both the file's structure (`raw`) and the sweep
//! axes (`grid`) hold them.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// A scalar as written: "10 ms", 0, 1.5.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Number(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity with a unit, such as \"10 ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(s.to_string()))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Scalar, E> {
                Ok(Scalar::Number(x))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(x as f64))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(x as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// A quantity with its location in the file.
pub type Q = Spanned<Scalar>;
