//! fnops: from a typed project file to a validated, deterministic, ArgoCD-ready tree.
//!
//! The pipeline is one line, one module per stage:
//! [`project`] (load) → [`render`] → [`validate`] → [`write`] / [`report`]; [`pipeline`] runs
//! the first three for one project.
//! Stages return values; only [`report`] formats findings and only [`run`] and `main` talk to
//! the terminal.

pub mod cli;
mod commands;
pub mod dev;
pub mod files;
pub mod finding;
pub mod git;
pub mod k8s_names;
pub mod manifest;
pub mod paths;
pub mod pipeline;
pub mod project;
pub mod render;
pub mod report;
pub mod validate;
pub mod write;
pub mod yaml;

pub use commands::{ExitStatus, overlay_schema, project_schema, run};
