//! YAML as Kubernetes and editors read it: a tree of nodes that keep their source position.
//!
//! Every later stage needs to point back at a line and column: the project loader when a field is
//! wrong, the validator when a manifest is. The tree is built from `saphyr-parser` events, so we
//! control the things a generic loader hides: duplicate keys are errors, aliases are expanded
//! under a budget (no "billion laughs"), and plain scalars resolve with either the YAML 1.2 core
//! schema (our own project file) or the YAML 1.1 rules Kubernetes applies (`yes` is a boolean,
//! `012` is octal).

mod emit;
mod node;
mod parse;
mod scalar;

pub use emit::emit_document;
pub use node::{Key, Loc, Node, PathSeg, Value, YamlError};
pub use parse::{MAX_ALIAS_BYTES, Part, parse_part, parse_stream};
pub use scalar::{Schema, needs_quotes};
