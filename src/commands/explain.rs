//! `fnops explain [RULE]`: what a rule checks, why, and how to fix it.

use super::{CommandError, write_stdout};
use crate::finding::{Rule, Severity};

pub(crate) fn run(rule: Option<&str>) -> Result<(), CommandError> {
    let Some(id) = rule else {
        let mut text = String::new();
        for r in Rule::ALL {
            text.push_str(&format!("{:<22} {:<7} {}\n", r.id(), severity(r.severity()), r.summary()));
        }
        return write_stdout(&text);
    };
    match Rule::find(id) {
        Some(r) => write_stdout(&format!(
            "{} ({})\n\n{}\n\nFix: {}\n",
            r.id(),
            severity(r.severity()),
            r.summary(),
            r.help()
        )),
        None => {
            let ids: Vec<String> = Rule::ALL.iter().map(|r| r.id().to_owned()).collect();
            let hint = crate::project::did_you_mean(id, &ids)
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_else(|| "; `fnops explain` lists them all".into());
            Err(CommandError::fatal(format_args!("no rule `{id}`{hint}")))
        }
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
