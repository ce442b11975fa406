//! One file per rule family.

pub mod apis;
pub mod apiserver;
pub mod configmap;
pub mod hygiene;
pub mod meta;
pub mod python;
pub mod schema;
pub mod service;
pub mod workload;
