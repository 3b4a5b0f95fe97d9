//! Outcomes of pushes and imports, and how an NDJSON body is cut into lines. No I/O of its
//! own: the import report is written to whatever writer the caller hands in.

use crate::http::Problem;
use serde::Serialize;
use std::io::{Seek, SeekFrom, Write};
use utoipa::ToSchema;

pub use crate::http::push::Outcome;

/// Most lines one NDJSON import request applies (`IMPORT_MAX_LINES`); the report says where
/// it stopped. Handlers get it as app data.
#[derive(Clone, Copy, Debug)]
pub struct ImportMaxLines(pub usize);

/// What happened to one line of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    Created,
    Updated,
    Unchanged,
    /// The line was refused; `problem` says why. Nothing of it was applied.
    Failed,
}

impl From<Outcome> for LineOutcome {
    fn from(o: Outcome) -> LineOutcome {
        match o {
            Outcome::Created => LineOutcome::Created,
            Outcome::Updated => LineOutcome::Updated,
            Outcome::Unchanged => LineOutcome::Unchanged,
        }
    }
}

/// One line of an import.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LineReport {
    /// 1-based line number in the body.
    pub line: usize,
    pub external_ref: Option<String>,
    pub outcome: LineOutcome,
    /// The id of the contract or installation, when the line was applied.
    pub id: Option<String>,
    /// Why the line failed.
    pub problem: Option<Problem>,
}

// The shape of the answer for the spec and the tests; its JSON is written by `ReportBuilder`.
/// The answer to an import: counts and every non-blank line's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// `true`: everything was checked and rolled back; the outcomes say what would happen.
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    /// `null` when the whole body was read. Otherwise the body had more lines than one request
    /// takes (`IMPORT_MAX_LINES`, default 20,000): this line and those after it were neither
    /// read nor applied; send them in another request.
    pub next_line: Option<usize>,
    /// `false` in the answer to the import itself, whose `lines` has every line. `true` in a
    /// replay (a retry with the same `Idempotency-Key`, answered with `Idempotent-Replayed:
    /// true`): only the summary of an import is kept, so the counts and `next_line` are the
    /// first answer's and `lines` is empty. To see each line again, send the same body with a
    /// new key: lines already applied report `unchanged`, refused ones their problem again.
    pub lines_omitted: bool,
    pub lines: Vec<LineReport>,
}

/// Room kept at the front of a built report for its head: `{"dry_run":false,`, four counts
/// and `next_line` of up to twenty digits each and `"lines_omitted":false` come to under 240
/// bytes.
const HEAD_ROOM: usize = 256;

/// Writes the JSON of an [`ImportReport`] to `out` (a spool, so no import holds its answer in
/// memory) as the lines are applied. The counts, known only at the end, go into room kept at
/// the front and padded with whitespace, so the answer is never copied to prepend them.
pub struct ReportBuilder<W> {
    dry_run: bool,
    /// created, updated, unchanged, failed
    counts: [usize; 4],
    out: W,
    lines: usize,
}

impl<W: Write + Seek> ReportBuilder<W> {
    pub fn new(dry_run: bool, mut out: W) -> std::io::Result<ReportBuilder<W>> {
        out.write_all(&[b' '; HEAD_ROOM])?;
        Ok(ReportBuilder { dry_run, counts: [0; 4], out, lines: 0 })
    }

    pub fn add(&mut self, lines: Vec<LineReport>) -> std::io::Result<()> {
        for l in lines {
            self.counts[match l.outcome {
                LineOutcome::Created => 0,
                LineOutcome::Updated => 1,
                LineOutcome::Unchanged => 2,
                LineOutcome::Failed => 3,
            }] += 1;
            if self.lines > 0 {
                self.out.write_all(b",")?;
            }
            serde_json::to_writer(&mut self.out, &l)?;
            self.lines += 1;
        }
        Ok(())
    }

    /// The head of the report without its lines: counts and `next_line`, then `lines_omitted`.
    fn head(&self, next_line: Option<usize>, lines_omitted: bool) -> String {
        let [created, updated, unchanged, failed] = self.counts;
        let next_line = next_line.map_or_else(|| "null".to_string(), |n| n.to_string());
        format!(
            r#"{{"dry_run":{},"created":{created},"updated":{updated},"unchanged":{unchanged},"failed":{failed},"next_line":{next_line},"lines_omitted":{lines_omitted},"lines":["#,
            self.dry_run
        )
    }

    /// Finishes the document in `out` (rewound to its start, with its length) and returns, too,
    /// the summary kept for replays: the same counts, `lines_omitted: true` and no lines.
    /// `next_line` is where an import over the line cap stopped.
    pub fn finish(mut self, next_line: Option<usize>) -> std::io::Result<(W, u64, Vec<u8>)> {
        self.out.write_all(b"]}")?;
        let len = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(self.head(next_line, false).as_bytes())?;
        self.out.seek(SeekFrom::Start(0))?;
        let mut summary = self.head(next_line, true).into_bytes();
        summary.extend_from_slice(b"]}");
        Ok((self.out, len, summary))
    }
}

/// A line of the body: its number and bytes, or that it was longer than allowed.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    Text(usize, Vec<u8>),
    TooLong(usize),
}

impl Line {
    /// Its 1-based line number in the body.
    pub fn number(&self) -> usize {
        match self {
            Line::Text(n, _) | Line::TooLong(n) => *n,
        }
    }
}

/// Cuts a streamed body into lines (LF or CRLF), skipping blank ones, without holding more
/// than one line.
pub struct LineSplitter {
    max: usize,
    current: Vec<u8>,
    number: usize,
    overflow: bool,
}

impl LineSplitter {
    pub fn new(max_line_bytes: usize) -> LineSplitter {
        LineSplitter { max: max_line_bytes, current: Vec::new(), number: 0, overflow: false }
    }

    /// Feeds a chunk; returns the lines it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        for part in chunk.split_inclusive(|b| *b == b'\n') {
            let (body, ends) = match part.strip_suffix(b"\n") {
                Some(b) => (b, true),
                None => (part, false),
            };
            if !self.overflow {
                if self.current.len() + body.len() > self.max {
                    self.overflow = true;
                    self.current.clear();
                } else {
                    self.current.extend_from_slice(body);
                }
            }
            if ends {
                self.finish_line(&mut out);
            }
        }
        out
    }

    /// The last line when the body does not end with a newline.
    pub fn finish(&mut self) -> Vec<Line> {
        let mut out = Vec::new();
        if !self.current.is_empty() || self.overflow {
            self.finish_line(&mut out);
        }
        out
    }

    fn finish_line(&mut self, out: &mut Vec<Line>) {
        self.number += 1;
        let mut line = std::mem::take(&mut self.current);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if std::mem::take(&mut self.overflow) {
            out.push(Line::TooLong(self.number));
        } else if !line.iter().all(u8::is_ascii_whitespace) {
            out.push(Line::Text(self.number, line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn lines_are_cut_across_chunks_and_blank_ones_skipped() {
        let mut s = LineSplitter::new(100);
        let mut lines = s.push(b"{\"a\":1}\r\n\n{\"b\"");
        lines.extend(s.push(b":2}\n  \n{\"c\":3}"));
        lines.extend(s.finish());
        assert_eq!(
            lines,
            vec![
                Line::Text(1, b"{\"a\":1}".to_vec()),
                Line::Text(3, b"{\"b\":2}".to_vec()),
                Line::Text(5, b"{\"c\":3}".to_vec())
            ]
        );
    }

    #[test]
    fn an_overlong_line_is_reported_and_the_next_one_read() {
        let mut s = LineSplitter::new(5);
        let mut lines = s.push(b"0123");
        lines.extend(s.push(b"456789\nok\n"));
        assert_eq!(lines, vec![Line::TooLong(1), Line::Text(2, b"ok".to_vec())]);
        assert!(s.finish().is_empty());
    }

    fn built(b: ReportBuilder<std::io::Cursor<Vec<u8>>>, next_line: Option<usize>) -> (Value, u64, Value) {
        let (out, len, summary) = b.finish(next_line).unwrap();
        let out = out.into_inner();
        assert_eq!(len as usize, out.len());
        (serde_json::from_slice(&out).unwrap(), len, serde_json::from_slice(&summary).unwrap())
    }

    fn builder(dry_run: bool) -> ReportBuilder<std::io::Cursor<Vec<u8>>> {
        ReportBuilder::new(dry_run, std::io::Cursor::new(Vec::new())).unwrap()
    }

    #[test]
    fn the_built_report_is_the_report_as_json_with_its_counts_and_a_summary_without_lines() {
        let line =
            |n, outcome| LineReport { line: n, external_ref: Some(format!("E-{n}")), outcome, id: None, problem: None };
        let mut bad = line(2, LineOutcome::Failed);
        bad.problem = Some(crate::error::ApiError::invalid("title", "required", "a title is required").problem());
        let lines =
            vec![line(1, LineOutcome::Created), bad, line(3, LineOutcome::Created), line(5, LineOutcome::Unchanged)];
        let mut b = builder(true);
        b.add(lines[..2].to_vec()).unwrap();
        b.add(lines[2..].to_vec()).unwrap();
        let (report, _, summary) = built(b, Some(6));
        let mut expected = ImportReport {
            dry_run: true,
            created: 2,
            updated: 0,
            unchanged: 1,
            failed: 1,
            next_line: Some(6),
            lines_omitted: false,
            lines,
        };
        assert_eq!(report, serde_json::to_value(&expected).unwrap());
        expected.lines_omitted = true;
        expected.lines.clear();
        assert_eq!(summary, serde_json::to_value(&expected).unwrap());

        let (empty, _, _) = built(builder(false), None);
        assert_eq!(
            empty,
            serde_json::json!({"dry_run": false, "created": 0, "updated": 0, "unchanged": 0, "failed": 0,
                               "next_line": null, "lines_omitted": false, "lines": []})
        );
    }

    #[test]
    fn the_largest_counts_fit_the_room_kept_for_the_head() {
        let mut b = builder(false);
        b.counts = [usize::MAX; 4];
        let (json, _, _) = built(b, Some(usize::MAX));
        assert_eq!(json["failed"], serde_json::json!(usize::MAX));
        assert_eq!(json["next_line"], serde_json::json!(usize::MAX));
        assert_eq!(json["lines_omitted"], serde_json::json!(false));
    }
}
