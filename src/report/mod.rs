//! REPORT: turn findings into what a person or a machine reads. Only this stage and `main`
//! write to the terminal.

mod text;

pub use text::render_text;
