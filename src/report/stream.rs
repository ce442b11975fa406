//! Reports written as a streamed run checks files: each file's findings are handed over once,
//! in file order, and dropped. JSON, SARIF, GitLab and GitHub reports write each finding as it
//! comes (byte for byte what [`super::render`] writes for the same findings); the text report
//! keeps its groups (the first findings of each, counts); JUnit needs its counts first and keeps
//! compact cases. A report going to a file is written to a temporary file beside it and renamed
//! when complete.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::fingerprint::Fingerprints;
use super::text::TextReport;
use super::{Checked, Format, gitlab, junit, sarif};
use crate::finding::{Finding, Sources};

/// A JSON array written element by element inside a pretty-printed document, exactly as
/// `serde_json::to_string_pretty` writes the whole: the document is printed with the array
/// empty and cut there.
struct ArrayStream {
    tail: String,
    indent: String,
    count: usize,
}

impl ArrayStream {
    /// `doc` holds an empty array at `key` (`None`: the document is the array).
    fn start(
        out: &mut dyn Write,
        doc: &serde_json::Value,
        key: Option<&str>,
    ) -> std::io::Result<ArrayStream> {
        let text = serde_json::to_string_pretty(doc).unwrap_or_default();
        let (head, tail, indent) = match key {
            None => (String::new(), String::new(), String::new()),
            Some(key) => {
                let marker = format!("\"{key}\": []");
                let at = text.find(&marker).unwrap_or(text.len());
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let indent = text[line_start..at].to_owned();
                (
                    text[..at + marker.len() - 2].to_owned(),
                    text[(at + marker.len()).min(text.len())..].to_owned(),
                    indent,
                )
            }
        };
        out.write_all(head.as_bytes())?;
        Ok(ArrayStream { tail, indent, count: 0 })
    }

    fn push(&mut self, out: &mut dyn Write, item: &serde_json::Value) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(item).unwrap_or_default();
        out.write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
        let pad = format!("{}  ", self.indent);
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(pad.as_bytes())?;
            out.write_all(line.as_bytes())?;
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.count == 0 {
            out.write_all(b"[]")?;
        } else {
            write!(out, "\n{}]", self.indent)?;
        }
        out.write_all(self.tail.as_bytes())?;
        out.write_all(b"\n")
    }
}

enum Writer {
    Text(TextReport),
    Json(ArrayStream),
    Sarif(ArrayStream, Fingerprints),
    Gitlab(ArrayStream, Fingerprints),
    Github,
    Junit(Vec<Finding>),
}

/// Where a report goes: stdout, or a temporary file renamed over its path at the end.
enum Destination {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File { tmp: tempfile::NamedTempFile, path: PathBuf },
}

impl Destination {
    fn out(&mut self) -> &mut dyn Write {
        match self {
            Destination::Stdout(s) => s,
            Destination::File { tmp, .. } => tmp.as_file_mut(),
        }
    }
}

pub struct Streamed {
    reports: Vec<(Destination, Writer)>,
    checked: Checked,
}

fn io(e: std::io::Error) -> String {
    format!("cannot write the report: {e}")
}

impl Streamed {
    pub fn open(formats: &[(Format, Option<PathBuf>)]) -> Result<Streamed, String> {
        let mut reports = Vec::new();
        for (format, output) in formats {
            let mut dest = match output {
                None => Destination::Stdout(std::io::BufWriter::new(std::io::stdout())),
                Some(path) => {
                    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                    let tmp = tempfile::NamedTempFile::new_in(dir)
                        .map_err(|e| format!("`{}`: {e}", path.display()))?;
                    Destination::File { tmp, path: path.clone() }
                }
            };
            let out = dest.out();
            let writer = match format {
                Format::Text => Writer::Text(TextReport::default()),
                Format::Json => {
                    Writer::Json(ArrayStream::start(out, &serde_json::json!([]), None).map_err(io)?)
                }
                Format::Gitlab => Writer::Gitlab(
                    ArrayStream::start(out, &serde_json::json!([]), None).map_err(io)?,
                    Fingerprints::default(),
                ),
                Format::Sarif => Writer::Sarif(
                    ArrayStream::start(out, &sarif::document(Vec::new()), Some("results")).map_err(io)?,
                    Fingerprints::default(),
                ),
                Format::Github => Writer::Github,
                Format::Junit => Writer::Junit(Vec::new()),
            };
            reports.push((dest, writer));
        }
        Ok(Streamed { reports, checked: Checked::default() })
    }

    /// One file's findings (sorted), and the objects it holds (for JUnit's passing cases).
    pub fn file(
        &mut self,
        findings: &[Finding],
        objects: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), String> {
        let mut listed = false;
        for (dest, writer) in &mut self.reports {
            let out = dest.out();
            match writer {
                Writer::Text(report) => findings.iter().for_each(|f| report.push(f)),
                Writer::Json(array) => {
                    for f in findings {
                        array.push(out, &serde_json::to_value(f).unwrap_or_default()).map_err(io)?;
                    }
                }
                Writer::Sarif(array, prints) => {
                    for f in findings {
                        array.push(out, &sarif::result(f, prints.next(f))).map_err(io)?;
                    }
                }
                Writer::Gitlab(array, prints) => {
                    for f in findings {
                        array.push(out, &gitlab::issue(f, prints.next(f))).map_err(io)?;
                    }
                }
                Writer::Github => out.write_all(super::github::render(findings).as_bytes()).map_err(io)?,
                Writer::Junit(kept) => {
                    kept.extend(findings.iter().cloned());
                    listed = true;
                }
            }
        }
        if listed {
            self.checked.objects.extend(objects);
        }
        Ok(())
    }

    /// A file that was checked (JUnit passes it when it holds nothing).
    pub fn checked_file(&mut self, display: String) {
        self.checked.files.push(display);
    }

    /// Close every report; stdout ones are flushed, file ones renamed into place.
    pub fn finish(self) -> Result<(), String> {
        let Streamed { reports, checked } = self;
        for (mut dest, writer) in reports {
            let out = dest.out();
            match writer {
                Writer::Text(report) => {
                    out.write_all(report.finish(&Sources::default()).as_bytes()).map_err(io)?
                }
                Writer::Json(array) | Writer::Sarif(array, _) | Writer::Gitlab(array, _) => {
                    array.finish(out).map_err(io)?
                }
                Writer::Github => {}
                Writer::Junit(kept) => {
                    out.write_all(junit::render(&kept, &checked).as_bytes()).map_err(io)?
                }
            }
            match dest {
                Destination::Stdout(mut s) => match s.flush() {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    Err(e) => return Err(io(e)),
                },
                Destination::File { tmp, path } => {
                    tmp.persist(&path)
                        .map_err(|e| format!("cannot write `{}`: {}", path.display(), e.error))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Rule;
    use crate::yaml::Loc;

    fn findings() -> Vec<Finding> {
        let mut sources = Sources::default();
        let a = sources.add("a.yaml", "x: 1\ny: 2\n");
        let b = sources.add("b.yaml", "z: 3\n");
        vec![
            Finding::new(Rule::ProbeMissing, &sources, Loc { file: a, line: 1, col: 1, len: 1 }, "one")
                .with_object(Some("Deployment/a".into())),
            Finding::new(Rule::SecretLiteral, &sources, Loc { file: a, line: 2, col: 3, len: 1 }, "two"),
            Finding::new(Rule::ProbeMissing, &sources, Loc { file: b, line: 1, col: 1, len: 1 }, "three"),
        ]
    }

    /// Streamed, each format writes what the whole-report renderer writes.
    #[test]
    fn streamed_reports_are_the_whole_reports_byte_for_byte() {
        let all = findings();
        for format in [Format::Json, Format::Sarif, Format::Gitlab] {
            let dir = tempfile::tempdir().expect("tmp");
            let path = dir.path().join("report");
            let mut streamed = Streamed::open(&[(format, Some(path.clone()))]).expect("open");
            streamed.file(&all[..2], Vec::new()).expect("file a");
            streamed.file(&all[2..], Vec::new()).expect("file b");
            streamed.finish().expect("finish");
            let whole = super::super::render(format, &all, &Sources::default(), &Checked::default());
            assert_eq!(std::fs::read_to_string(&path).expect("read"), whole, "{format:?}");
            let empty_path = dir.path().join("empty");
            let streamed = Streamed::open(&[(format, Some(empty_path.clone()))]).expect("open");
            streamed.finish().expect("finish");
            let whole = super::super::render(format, &[], &Sources::default(), &Checked::default());
            assert_eq!(std::fs::read_to_string(&empty_path).expect("read"), whole, "{format:?} empty");
        }
    }
}
