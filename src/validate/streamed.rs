//! A big tree in bounded memory (see `fnops validate`'s streamed run): an index pass, then a
//! check pass, each reading the files again, a run of whole documents at a time.
//!
//! A file is read in parts of about [`PART_BYTES`], cut before a line that starts a document
//! (`---`), so a 100,000-document file is never held whole. Each part is parsed with the
//! file's line numbers and alias budget ([`crate::yaml::Part`]), each object indexed or checked
//! and dropped as soon as it is parsed. A file the index pass found broken (not UTF-8, or not
//! YAML) is read whole in the check pass and reported as the in-memory run reports it, by its
//! error alone. Parts are handled a batch at a time in parallel and handed on in order.

use std::io::BufRead;

use rayon::prelude::*;

use super::{Doc, Options, Set, check_doc, finish};
use crate::finding::{Finding, Rule, Sources};
use crate::yaml::Part;

/// About how much of a file one part holds (it ends at the next document start after this).
pub const PART_BYTES: usize = 1 << 20;

/// A file a streamed run reads, opened: the name reports show, and its bytes.
pub struct FileSource {
    pub display: String,
    pub reader: Box<dyn BufRead + Send>,
    /// At most this many bytes in one part (one document, for a file that is one document), and
    /// in a broken file read whole; more is an error.
    pub cap: u64,
    /// About how much one part holds: [`PART_BYTES`] (tests cut at every document).
    pub part_bytes: usize,
}

/// One file checked by [`check_files`], or one part of it (`first` tells which): its findings
/// (sorted, snippets captured) and the ids of its objects (for JUnit).
pub struct FileChecked {
    pub display: String,
    pub first: bool,
    pub findings: Vec<Finding>,
    pub objects: Vec<String>,
}

/// What the index pass learns: the index, per file the ConfigMaps it holds (a run over named
/// files keeps the references into them), and which files are broken.
pub struct Index {
    pub set: Set,
    pub configmaps: Vec<Vec<String>>,
    broken: Vec<bool>,
}

/// One piece of work: a part of file `file`, `lines_before` lines into it (or a broken file whole).
struct Piece {
    file: usize,
    display: String,
    bytes: Vec<u8>,
    lines_before: u32,
    first: bool,
}

/// Reads a file part by part.
struct Parts {
    file: usize,
    source: FileSource,
    /// The line that starts the next part, read ahead.
    ahead: Vec<u8>,
    lines: u32,
    first: bool,
    done: bool,
    /// Read the file in one part (a broken file, reported as the in-memory run reports it).
    whole: bool,
}

/// Whether `line` starts a document: `---` alone or followed by a space.
fn starts_document(line: &[u8]) -> bool {
    line.strip_prefix(b"---")
        .is_some_and(|rest| rest.is_empty() || matches!(rest[0], b' ' | b'\t' | b'\r' | b'\n'))
}

impl Parts {
    fn new(file: usize, source: FileSource, whole: bool) -> Parts {
        Parts { file, source, ahead: Vec::new(), lines: 0, first: true, done: false, whole }
    }

    fn read_error(&self, e: std::io::Error) -> String {
        format!("{}: {e}", self.source.display)
    }

    /// The next part; a file (even an empty one) has at least one.
    fn next(&mut self) -> Result<Option<Piece>, String> {
        if self.done {
            return Ok(None);
        }
        if self.whole {
            self.done = true;
            return self.read_whole().map(Some);
        }
        let mut bytes = std::mem::take(&mut self.ahead);
        // Room for a part and its last document's start, so that it never doubles past it.
        bytes.reserve(self.source.part_bytes.saturating_add(64 << 10).min(self.source.cap as usize));
        let mut lines = u32::from(!bytes.is_empty());
        let mut line = Vec::new();
        // A directive (`%YAML`) belongs to the document after it: never cut right after one.
        let mut after_directive = false;
        loop {
            line.clear();
            let n = self.source.reader.read_until(b'\n', &mut line).map_err(|e| self.read_error(e))?;
            if n == 0 {
                self.done = true;
                break;
            }
            if bytes.len() >= self.source.part_bytes && !after_directive && starts_document(&line) {
                self.ahead = std::mem::take(&mut line);
                break;
            }
            after_directive = line.first() == Some(&b'%');
            bytes.extend_from_slice(&line);
            lines += 1;
            if bytes.len() as u64 > self.source.cap {
                return Err(format!(
                    "{}: a document over {} MiB (refused)",
                    self.source.display,
                    self.source.cap >> 20
                ));
            }
        }
        let piece = Piece {
            file: self.file,
            display: self.source.display.clone(),
            bytes,
            lines_before: self.lines,
            first: self.first,
        };
        self.lines += lines;
        self.first = false;
        Ok(Some(piece))
    }

    /// The whole file at once.
    fn read_whole(&mut self) -> Result<Piece, String> {
        let mut bytes = Vec::new();
        let cap = self.source.cap;
        let mut limited = std::io::Read::take(&mut self.source.reader, cap + 1);
        std::io::Read::read_to_end(&mut limited, &mut bytes).map_err(|e| self.read_error(e))?;
        if bytes.len() as u64 > cap {
            return Err(format!("{}: larger than {} MiB (refused)", self.source.display, cap >> 20));
        }
        Ok(Piece {
            file: self.file,
            display: self.source.display.clone(),
            bytes,
            lines_before: 0,
            first: true,
        })
    }
}

/// Every piece of files `0..n`, in order, a batch at a time: `each` gets a batch to work on in
/// parallel, and its results are handed to `done` in order.
fn in_batches<R: Send, E: From<String>>(
    n: usize,
    open: impl Fn(usize) -> Result<FileSource, E>,
    whole: impl Fn(usize) -> bool,
    each: impl Fn(Piece) -> R + Sync,
    mut done: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let batch = 2 * rayon::current_num_threads().max(1);
    let mut pieces: Vec<Piece> = Vec::with_capacity(batch);
    let mut flush = |pieces: &mut Vec<Piece>| -> Result<(), E> {
        let results: Vec<R> = std::mem::take(pieces).into_par_iter().map(&each).collect();
        results.into_iter().try_for_each(&mut done)
    };
    for file in 0..n {
        let mut parts = Parts::new(file, open(file)?, whole(file));
        while let Some(piece) = parts.next()? {
            pieces.push(piece);
            if pieces.len() == batch {
                flush(&mut pieces)?;
            }
        }
    }
    flush(&mut pieces)
}

/// A piece's text in sources of its own (id 0, numbered as in its file), or the finding that it
/// is not UTF-8.
fn piece_sources(piece: &mut Piece) -> (Sources, Option<Finding>) {
    let mut sources = Sources::default();
    let display = piece.display.clone();
    match String::from_utf8(std::mem::take(&mut piece.bytes)) {
        Ok(text) => {
            sources.add_part(display, text, piece.lines_before);
            (sources, None)
        }
        Err(e) => {
            let (_, loc) = crate::manifest::register_not_utf8(&mut sources, display, e);
            let finding = Finding::new(Rule::YamlSyntax, &sources, loc, "the file is not valid UTF-8");
            (sources, Some(finding))
        }
    }
}

/// The index pass: every file read part by part, each object indexed and dropped.
pub fn index_files<E: Send + From<String>>(
    n: usize,
    open: impl Fn(usize) -> Result<FileSource, E>,
) -> Result<Index, E> {
    let index_piece = |mut piece: Piece| -> (usize, Option<(Set, Vec<String>, Part)>) {
        let (sources, not_utf8) = piece_sources(&mut piece);
        if not_utf8.is_some() {
            return (piece.file, None);
        }
        let (mut set, mut configmaps) = (Set::default(), Vec::new());
        let mut part = Part::default();
        let parsed = crate::manifest::parse_file_part(0, &sources, &mut part, |node| {
            let doc = Doc { node: &node };
            set.add(&doc);
            if doc.kind() == Some("ConfigMap")
                && let Some(name) = doc.name()
            {
                configmaps.push(name.to_owned());
            }
        });
        (piece.file, parsed.ok().map(|()| (set, configmaps, part)))
    };
    let mut index = Index { set: Set::default(), configmaps: vec![Vec::new(); n], broken: vec![false; n] };
    // The file whose parts are coming in: it joins the index once all of them parsed (a broken
    // file adds nothing to it, as in the in-memory run). Parts start with the whole alias
    // budget, in parallel; what they spend is added up, and over the file's budget the file is
    // broken, as one parse of it would be.
    let mut current: Option<(usize, Set, Part)> = None;
    let commit = |index: &mut Index, current: Option<(usize, Set, Part)>| {
        if let Some((file, set, _)) = current
            && !index.broken[file]
        {
            index.set.append(set);
        }
    };
    in_batches(
        n,
        open,
        |_| false,
        index_piece,
        |(file, parsed)| {
            if current.as_ref().is_some_and(|(f, _, _)| *f != file) {
                commit(&mut index, current.take());
            }
            let (_, set, budget) = current.get_or_insert_with(|| (file, Set::default(), Part::default()));
            match parsed {
                Some((part_set, names, spent)) if budget.spend(&spent) => {
                    set.append(part_set);
                    index.configmaps[file].extend(names);
                }
                _ => {
                    index.broken[file] = true;
                    index.configmaps[file].clear();
                }
            }
            Ok(())
        },
    )?;
    commit(&mut index, current.take());
    Ok(index)
}

/// The check pass: every file read again part by part, each object checked against the whole
/// run's index and dropped, snippets captured; each part's findings handed to `emit` in order.
pub fn check_files<E: Send + From<String>>(
    n: usize,
    open: impl Fn(usize) -> Result<FileSource, E>,
    index: &Index,
    opts: &Options<'_>,
    emit: impl FnMut(FileChecked) -> Result<(), E>,
) -> Result<(), E> {
    let check = |mut piece: Piece| -> FileChecked {
        let (sources, not_utf8) = piece_sources(&mut piece);
        let mut findings: Vec<Finding> = not_utf8.into_iter().collect();
        let mut objects = Vec::new();
        if findings.is_empty() {
            let parsed = crate::manifest::parse_file_part(0, &sources, &mut Part::default(), |node| {
                let doc = Doc { node: &node };
                findings.extend(check_doc(&doc, &index.set, &sources, opts));
                objects.push(doc.id());
            });
            // Only a whole (broken) file can fail here: it is reported by its error alone.
            if let Err(e) = parsed {
                findings.clear();
                objects.clear();
                findings.push(Finding::new(e.rule, &sources, e.loc, e.message));
            }
        }
        finish(&mut findings, opts);
        for f in &mut findings {
            f.snippet = sources.line(0, f.line).map(str::to_owned);
        }
        FileChecked { display: piece.display, first: piece.first, findings, objects }
    };
    in_batches(n, open, |file| index.broken[file], check, emit)
}
