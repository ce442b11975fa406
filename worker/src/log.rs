//! The worker's stderr (the user's prints and logging) into the log, line by line. Lines are
//! bytes: decoded lossily, so one byte that is not UTF-8 costs nothing, and cut at a length cap,
//! so a `print` without a newline cannot grow the host's memory. Reading never stops before the
//! pipe closes: a stalled reader would block the handler's next `print`.

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::ChildStderr;

use crate::LogSink;

pub async fn forward(stderr: ChildStderr, max_line: usize, sink: LogSink) {
    let mut reader = BufReader::with_capacity(8 << 10, stderr);
    let mut line: Vec<u8> = Vec::new();
    let mut cut = 0usize;
    loop {
        let buf = match reader.fill_buf().await {
            Ok(buf) if !buf.is_empty() => buf,
            _ => break,
        };
        let end = buf.iter().position(|&b| b == b'\n');
        let chunk = &buf[..end.unwrap_or(buf.len())];
        let room = max_line.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        cut += chunk.len().saturating_sub(room);
        let consumed = chunk.len() + usize::from(end.is_some());
        reader.consume(consumed);
        if end.is_some() {
            emit(&sink, &line, cut, max_line);
            line.clear();
            cut = 0;
        }
    }
    if !line.is_empty() || cut > 0 {
        emit(&sink, &line, cut, max_line);
    }
}

fn emit(sink: &LogSink, line: &[u8], cut: usize, max_line: usize) {
    let text = String::from_utf8_lossy(line);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    if cut == 0 {
        sink(text.to_owned());
    } else {
        sink(format!("{text} [line cut: {cut} more bytes; lines are capped at {max_line} bytes]"));
    }
}
