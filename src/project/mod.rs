//! LOAD: read `fnops.yaml` and `environments/<env>.yaml`, deep-merge each overlay over the base,
//! type the result, and check what types alone cannot (paths stay inside the project, no literal
//! secrets, flavour constraints). Every value keeps the file and position it came from, so an
//! error points at the base or at the overlay that set it. Hands on one [`EnvProject`] per
//! environment to the render stage.

mod checks;
mod load;
mod merge;
pub mod model;
mod source;

pub(crate) use load::did_you_mean;
pub use load::{
    DEFAULT_ENV, EnvProject, FunctionSource, LoadError, Loaded, MAX_PROJECT_FILE_BYTES, PROJECT_FILE, load,
};
pub use model::Project;
