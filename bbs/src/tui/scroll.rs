//! The selection and viewport of a list: which row is selected and which row is at the
//! top. Updated by actions with the viewport height the last frame had; the view clamps
//! again with the height it really gets ([`Cursor::top_for`]), so drawing stays a pure
//! function even while a resize is in flight.

/// Selected row and top row of a list (indices in display order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The selected row.
    pub sel: usize,
    /// The first visible row.
    pub top: usize,
}

impl Cursor {
    /// Keeps `sel` inside `len` rows and visible in `height` rows.
    pub fn clamp(&mut self, len: usize, height: usize) {
        if len == 0 {
            *self = Cursor::default();
            return;
        }
        self.sel = self.sel.min(len - 1);
        self.top = self.top_for(len, height);
    }

    /// The top row to draw for `len` rows in `height` rows: the stored top, moved just
    /// enough to show the selection, and never leaving blank rows below the end when the
    /// list is longer than the viewport.
    pub fn top_for(&self, len: usize, height: usize) -> usize {
        let height = height.max(1);
        let sel = self.sel.min(len.saturating_sub(1));
        let mut top = self.top.min(len.saturating_sub(height));
        if sel < top {
            top = sel;
        } else if sel >= top + height {
            top = sel + 1 - height;
        }
        top
    }

    /// Moves the selection by `delta` rows.
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            return;
        }
        let sel = self.sel as isize + delta;
        self.sel = sel.clamp(0, len as isize - 1) as usize;
        self.clamp(len, height);
    }

    /// Moves by a page, scrolling the viewport with it.
    pub fn page(&mut self, down: bool, len: usize, height: usize) {
        let h = height.max(1);
        if down {
            self.top = (self.top + h).min(len.saturating_sub(h));
            self.sel = (self.sel + h).min(len.saturating_sub(1));
        } else {
            self.top = self.top.saturating_sub(h);
            self.sel = self.sel.saturating_sub(h);
        }
        self.clamp(len, height);
    }

    /// Selects row `i`.
    pub fn select(&mut self, i: usize, len: usize, height: usize) {
        self.sel = i;
        self.clamp(len, height);
    }

    /// Selects the last row.
    pub fn bottom(&mut self, len: usize, height: usize) {
        self.select(len.saturating_sub(1), len, height);
    }
}

/// A plain scroll offset over `len` lines in `height` rows (the post and mail views).
pub fn clamp_scroll(scroll: usize, len: usize, height: usize) -> usize {
    scroll.min(len.saturating_sub(height.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_stays_visible() {
        let mut c = Cursor::default();
        c.step(15, 100, 10);
        assert_eq!((c.sel, c.top), (15, 6));
        c.step(-10, 100, 10);
        assert_eq!((c.sel, c.top), (5, 5));
        c.page(true, 100, 10);
        assert_eq!((c.sel, c.top), (15, 15));
        c.bottom(100, 10);
        assert_eq!((c.sel, c.top), (99, 90));
        c.clamp(3, 10);
        assert_eq!((c.sel, c.top), (2, 0));
        c.clamp(0, 10);
        assert_eq!(c, Cursor::default());
    }
}
