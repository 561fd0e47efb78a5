//! Tab-separated files with a header row (HONEST's templates, HurtLex): the header read, blank rows passed over,
//! each row numbered by its line, and one message for a row shorter than the header.
//!
//! Written by hand rather than with the csv crate: these files are read as HONEST reads them, with pandas, which
//! takes a field's leading quotes apart (`"c" word` → `c word`, see `honest::inputs::unquote`) where the csv crate
//! would reject the row or read it otherwise; splitting on tabs is all the rest needs.

use crate::data::Skipped;

/// A tab-separated text: its header's names (trimmed) and its rows.
pub(crate) struct Tsv<'a> {
    /// The names in the first line, trimmed; empty for an empty text.
    pub header: Vec<&'a str>,
    rows: std::iter::Enumerate<std::str::Lines<'a>>,
}

impl<'a> Tsv<'a> {
    /// Reads the header of `text`; the rows follow through [`Iterator`].
    pub fn new(text: &'a str) -> Self {
        let mut rows = text.lines().enumerate();
        let header = rows.next().map(|(_, h)| h.split('\t').map(str::trim).collect()).unwrap_or_default();
        Tsv { header, rows }
    }

    /// The position of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| *h == name)
    }
}

impl<'a> Iterator for Tsv<'a> {
    /// A row's line in the file (the header is line 1) and its fields, untrimmed.
    type Item = (usize, Vec<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        self.rows
            .by_ref()
            .find(|(_, row)| !row.trim().is_empty())
            .map(|(index, row)| (index + 1, row.split('\t').collect()))
    }
}

/// The row on `line`, with `fields` fields, skipped for lacking a column of a header of `columns`.
pub(crate) fn short_row(line: usize, fields: usize, columns: usize) -> Skipped {
    Skipped::row(line, format!("{fields} columns, the header has {columns}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_by_line_and_blank_ones_passed_over() {
        let mut tsv = Tsv::new(" a \tb\n1\t2\n\n  \n3\n");
        assert_eq!(tsv.header, ["a", "b"]);
        assert_eq!(tsv.column("b"), Some(1));
        assert_eq!(tsv.next(), Some((2, vec!["1", "2"])));
        assert_eq!(tsv.next(), Some((5, vec!["3"])));
        assert_eq!(tsv.next(), None);
        assert!(Tsv::new("").header.is_empty());
        assert_eq!(short_row(5, 1, 2).reason, "1 columns, the header has 2");
    }
}
