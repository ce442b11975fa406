//! One file per rule family.

pub mod configmap;
pub mod hygiene;
pub mod meta;
pub mod python;
pub mod schema;
pub mod workload;
