//! Byte offset to 1-based line and column, computed only for matches.

/// A 1-based position; columns count Unicode code points.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (code points).
    pub column: usize,
}

/// Incremental line counter over one blob: feed offsets in ascending order.
pub struct LineIndex<'a> {
    data: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    /// Start at the beginning of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        LineIndex {
            data,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Position of `offset`; restarts from the top when offsets go backwards.
    pub fn position(&mut self, offset: usize) -> Position {
        let offset = offset.min(self.data.len());
        if offset < self.offset {
            *self = LineIndex::new(self.data);
        }
        let chunk = &self.data[self.offset..offset];
        let newlines = memchr::memchr_iter(b'\n', chunk).count();
        if newlines > 0 {
            self.line += newlines;
            self.line_start =
                self.offset + memchr::memrchr(b'\n', chunk).expect("counted a newline") + 1;
        }
        self.offset = offset;
        let column = 1 + self.data[self.line_start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        Position {
            line: self.line,
            column,
        }
    }

    /// The bytes of the line holding `offset` (without the newline).
    pub fn line_at(data: &[u8], offset: usize) -> &[u8] {
        let offset = offset.min(data.len());
        let start = memchr::memrchr(b'\n', &data[..offset]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &data[offset..]).map_or(data.len(), |i| offset + i);
        &data[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_code_points() {
        let data = "ab\ncé x\n\nz".as_bytes();
        let mut idx = LineIndex::new(data);
        assert_eq!(idx.position(0), Position { line: 1, column: 1 });
        assert_eq!(idx.position(4), Position { line: 2, column: 2 });
        let x = data.iter().position(|&b| b == b'x').unwrap();
        assert_eq!(idx.position(x), Position { line: 2, column: 4 });
        let z = data.len() - 1;
        assert_eq!(idx.position(z), Position { line: 4, column: 1 });
        assert_eq!(idx.position(1), Position { line: 1, column: 2 });
        assert_eq!(LineIndex::line_at(data, 4), "cé x".as_bytes());
    }
}
