//! Reading text, JSON Lines, CSV and BOLD files into a measurer, a line or a record at a time, refusing binary
//! files and over-long lines.

use super::*;

/// Measures texts already in memory (each one row, split into sentences).
pub fn measure_texts<I, S>(texts: I, options: &MeasureOptions) -> Result<DatasetReport>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut measurer = Measurer::new(options)?;
    for text in texts {
        measurer.add_text(text.as_ref());
    }
    Ok(measurer.finish())
}

pub use crate::data::corpus::bold_wikipedia;

/// The format of `path` when `format` is [`Format::Auto`] (BOLD is decided by the caller, by parsing).
fn by_extension(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("jsonl" | "ndjson") => Format::Jsonl,
        Some("csv") => Format::Csv,
        Some("json") => Format::Bold,
        _ => Format::Text,
    }
}

/// Measures files, streaming them: text and JSON Lines line by line, CSV record by record, BOLD files (small JSON)
/// whole. Malformed JSON Lines or CSV rows are skipped and counted, the first few kept with their line numbers; a
/// file with no usable row is [`Error::InvalidData`], a file that cannot be opened [`Error::Io`].
/// [`measure_files_with`] shows progress.
pub fn measure_files(paths: &[PathBuf], read: &ReadOptions, options: &MeasureOptions) -> Result<DatasetReport> {
    measure_files_with(paths, read, options, &ProgressBar::hidden())
}

/// [`measure_files`], counting the bytes read on `progress` (its length is set to the files' total size).
pub fn measure_files_with(
    paths: &[PathBuf],
    read: &ReadOptions,
    options: &MeasureOptions,
    progress: &ProgressBar,
) -> Result<DatasetReport> {
    if paths.is_empty() {
        return Err(Error::InvalidArgument { reason: "no file to measure: name at least one".into() });
    }
    let mut measurer = Measurer::new(options)?.split_sentences(read.split_sentences).limit(read.limit);
    let total: u64 = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    progress.set_length(total);
    for path in paths {
        if measurer.is_full() {
            break;
        }
        let name = path.display().to_string();
        let (rows_before, sentences_before, skipped_before) =
            (measurer.rows, measurer.sentences, measurer.skipped_rows);
        let format = match read.format {
            Format::Auto => by_extension(path),
            other => other,
        };
        refuse_binary(path)?;
        // A BOLD file is one JSON document, read whole: only up to a size (BOLD's own are about 10 MB).
        let too_big = std::fs::metadata(path).is_ok_and(|m| !m.is_file() || m.len() > MAX_DOCUMENT);
        match format {
            Format::Bold if too_big && read.format == Format::Auto => {
                read_lines(path, &mut measurer, progress, |m, _, line| m.add_text(line))?;
            }
            Format::Bold if too_big => {
                return Err(Error::InvalidData {
                    path: path.clone(),
                    reason: format!(
                        "too large to read as one BOLD JSON document (over {} MiB): use --format jsonl or text",
                        MAX_DOCUMENT >> 20
                    ),
                })
            }
            Format::Bold => match crate::data::corpus::bold_wikipedia_sentences(path) {
                Ok(items) => {
                    for item in items {
                        measurer.add_text(&item);
                    }
                    progress.inc(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
                }
                Err(Error::InvalidData { .. }) if read.format == Format::Auto => {
                    read_lines(path, &mut measurer, progress, |m, _, line| m.add_text(line))?;
                }
                Err(err) => return Err(err),
            },
            Format::Text | Format::Auto => {
                read_lines(path, &mut measurer, progress, |m, _, line| m.add_text(line))?;
            }
            Format::Jsonl => {
                let field = read.field.as_str();
                read_lines(path, &mut measurer, progress, |m, number, line| {
                    if line.trim().is_empty() {
                        return;
                    }
                    match serde_json::from_str::<serde_json::Value>(line) {
                        Err(err) => m.skip_row(&name, number, format!("not JSON: {err}")),
                        Ok(value) => match value.get(field) {
                            Some(serde_json::Value::String(text)) => m.add_text(text),
                            Some(other) if !other.is_null() => {
                                m.skip_row(&name, number, format!("field {field:?} is not a string"))
                            }
                            _ => m.skip_row(&name, number, format!("no field {field:?}")),
                        },
                    }
                })?;
            }
            Format::Csv => read_csv(path, &read.field, &mut measurer, progress)?,
        }
        measurer.files.push(name);
        if measurer.rows == rows_before || (measurer.sentences == sentences_before && !measurer.is_full()) {
            let skipped = measurer.skipped_rows - skipped_before;
            let reason = if skipped > 0 {
                let first: Vec<String> = measurer
                    .skipped
                    .iter()
                    .filter(|s| s.file.as_deref() == Some(&*path.display().to_string()))
                    .take(3)
                    .map(|s| format!("line {}: {}", s.line, s.reason))
                    .collect();
                format!(
                    "no usable row ({skipped} malformed; {}): check that the format and field (--format, --field) fit \
                     the file",
                    first.join("; ")
                )
            } else {
                "no text in it: is this the right file?".to_string()
            };
            return Err(Error::InvalidData { path: path.clone(), reason });
        }
    }
    Ok(measurer.finish())
}

/// The longest line (or CSV field) measured, in bytes: a longer one is skipped and counted, never held whole.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// Why a row over [`MAX_LINE`] is skipped.
fn too_long() -> String {
    format!("longer than {} MiB: not measured", MAX_LINE >> 20)
}

/// The largest BOLD JSON document read whole, in bytes.
const MAX_DOCUMENT: u64 = 256 << 20;

/// How much of a file's start is looked at for NUL bytes, which text never holds ([`refuse_binary`]).
const BINARY_SNIFF: usize = 8 << 10;

/// The error for a file holding a NUL byte at byte `at` of its first 8 KiB: binary (or `/dev/zero`), not text.
fn binary(path: &Path, at: usize) -> Error {
    Error::InvalidData {
        path: path.into(),
        reason: format!(
            "this is not text (a NUL byte at byte {at}): measure a text, CSV, JSON Lines or BOLD JSON file"
        ),
    }
}

/// An error when the regular file `path` has a NUL byte in its first 8 KiB. Devices and pipes are not read here
/// (what is read from a pipe is gone): [`read_lines`] checks their first 8 KiB as it reads them.
fn refuse_binary(path: &Path) -> Result<()> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut start = Vec::with_capacity(BINARY_SNIFF);
    file.take(BINARY_SNIFF as u64).read_to_end(&mut start).map_err(Error::io(path))?;
    match start.iter().position(|&b| b == 0) {
        Some(at) => Err(binary(path, at)),
        None => Ok(()),
    }
}

/// Reads one line of `reader` into `line` (the `\n` included), keeping at most `cap` bytes of it: the bytes read,
/// and whether the line was longer than `cap` (the rest is read and dropped, so memory stays bounded). `offset` is
/// how many bytes of the input came before; a NUL byte within the input's first 8 KiB is `Err(Ok(position))`.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
    offset: usize,
) -> std::result::Result<(usize, bool), std::result::Result<usize, std::io::Error>> {
    let (mut read, mut long) = (0, false);
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Err(err)),
        };
        if available.is_empty() {
            return Ok((read, long));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let start = offset + read;
        if start < BINARY_SNIFF {
            let sniffed = &chunk[..chunk.len().min(BINARY_SNIFF - start)];
            if let Some(at) = sniffed.iter().position(|&b| b == 0) {
                return Err(Ok(start + at));
            }
        }
        let room = cap.saturating_sub(line.len());
        if chunk.len() > room {
            long = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        read += used;
        if done {
            return Ok((read, long));
        }
    }
}

/// Calls `each(measurer, line number, line)` for every line of `path` (invalid UTF-8 replaced by U+FFFD), until the
/// measurer is full; counts bytes on `progress`. Memory: one line at a time, at most [`MAX_LINE`] bytes of it (a
/// longer line is skipped and counted as a skipped row).
fn read_lines(
    path: &Path,
    measurer: &mut Measurer,
    progress: &ProgressBar,
    mut each: impl FnMut(&mut Measurer, u64, &str),
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buffer = Vec::new();
    let mut number = 0_u64;
    let mut offset = 0_usize;
    let name = path.display().to_string();
    loop {
        buffer.clear();
        let (read, long) = match read_line_capped(&mut reader, &mut buffer, MAX_LINE, offset) {
            Ok(read) => read,
            Err(Ok(at)) => return Err(binary(path, at)),
            Err(Err(err)) => return Err(Error::io(path)(err)),
        };
        if read == 0 {
            break;
        }
        offset = offset.saturating_add(read);
        number += 1;
        progress.inc(read as u64);
        if long {
            measurer.skip_row(&name, number, too_long());
            continue;
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        // A UTF-8 byte-order mark at the start of the file is not text.
        let line = if number == 1 { line.trim_start_matches('\u{feff}') } else { line };
        each(measurer, number, line);
        if measurer.is_full() {
            break;
        }
    }
    Ok(())
}

fn read_csv(path: &Path, field: &str, measurer: &mut Measurer, progress: &ProgressBar) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    read_csv_from(path, BufReader::with_capacity(1 << 16, file), field, measurer, progress)
}

fn read_csv_from(
    path: &Path,
    input: impl Read,
    field: &str,
    measurer: &mut Measurer,
    progress: &ProgressBar,
) -> Result<()> {
    let name = path.display().to_string();
    let invalid = |reason: String| Error::InvalidData { path: path.into(), reason };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|err| {
            invalid(format!("cannot read the CSV header: {err}; if it is not CSV, give its format with --format"))
        })?
        .clone();
    let column = headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == field).ok_or_else(|| {
        invalid(format!(
            "no column {field:?} (the columns are {}): name the text column with --field",
            headers.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let offset = crate::data::csv_line_offset(&reader);
    let mut record = csv::ByteRecord::new();
    let mut position = reader.position().byte();
    loop {
        let result = reader.read_byte_record(&mut record);
        let now = reader.position().byte();
        progress.inc(now.saturating_sub(position));
        position = now;
        match result {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() + offset);
                if record.len() != headers.len() {
                    measurer.skip_row(
                        &name,
                        line,
                        format!("{} fields where the header has {}", record.len(), headers.len()),
                    );
                    continue;
                }
                match record.get(column).map(std::str::from_utf8) {
                    Some(Ok(text)) if text.len() > MAX_LINE => measurer.skip_row(&name, line, too_long()),
                    Some(Ok(text)) => measurer.add_text(text),
                    Some(Err(_)) => measurer.skip_row(&name, line, "not UTF-8"),
                    None => measurer.skip_row(&name, line, format!("no column {field:?}")),
                }
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line() + offset);
                let reason = err.to_string();
                match err.into_kind() {
                    csv::ErrorKind::Io(source) => return Err(Error::Io { path: path.into(), source }),
                    _ => measurer.skip_row(&name, line, reason),
                }
            }
        }
        if measurer.is_full() {
            break;
        }
    }
    Ok(())
}
