//! `fnops explain [RULE]`: what a rule checks, why, and how to fix it.

use super::{ExitStatus, print_stdout};
use crate::finding::Severity;
use crate::validate::catalogue::{RULES, find};

pub(crate) fn run(rule: Option<&str>) -> ExitStatus {
    let Some(id) = rule else {
        let mut text = String::new();
        for r in RULES {
            text.push_str(&format!("{:<22} {:<7} {}\n", r.id, severity(r.severity), r.summary));
        }
        print_stdout(&text);
        return ExitStatus::Success;
    };
    match find(id) {
        Some(r) => {
            print_stdout(&format!(
                "{} ({})\n\n{}\n\nFix: {}\n",
                r.id,
                severity(r.severity),
                r.summary,
                r.help
            ));
            ExitStatus::Success
        }
        None => {
            let ids: Vec<String> = RULES.iter().map(|r| r.id.to_owned()).collect();
            let hint = crate::project::did_you_mean(id, &ids)
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_else(|| "; `fnops explain` lists them all".into());
            eprintln!("error: no rule `{id}`{hint}");
            ExitStatus::Error
        }
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
