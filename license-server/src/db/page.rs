//! Keyset pagination, the same for every list.
//!
//! Each list has a fixed order on two columns that never change once a row exists: a time
//! and the row's id (which breaks ties). A page is "at most `limit` rows after this key", and
//! its cursor is the key of its last row, so paging through a list costs one index range scan
//! per page however deep it goes, never skips or repeats a row because rows were added
//! meanwhile, and holds nothing on the server between pages. The SQL reads `limit + 1` rows:
//! the extra one only says whether there is a next page.

/// Rows a page holds when the client does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most rows a page may hold.
pub const MAX_LIMIT: u32 = 200;

/// A position in a list: the sort key of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The row's time column (seconds since the epoch).
    pub at: i64,
    /// The row's id.
    pub id: String,
}

/// Which page to read.
#[derive(Debug, Clone)]
pub struct PageQuery {
    /// Most rows, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Continue after this row; `None` for the first page.
    pub after: Option<Cursor>,
}

impl PageQuery {
    /// The first page of `limit` rows.
    pub fn first(limit: u32) -> Self {
        PageQuery { limit, after: None }
    }

    /// The bind values of the `after` key: `(None, None)` for the first page.
    pub fn after_key(&self) -> (Option<i64>, Option<String>) {
        self.after.as_ref().map_or((None, None), |c| (Some(c.at), Some(c.id.clone())))
    }

    /// The SQL `LIMIT`: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit).saturating_add(1)
    }
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery::first(DEFAULT_LIMIT)
    }
}

/// Rows that can be paged: their sort key.
pub trait Keyed {
    /// The key of this row in its list.
    fn key(&self) -> Cursor;
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T: Keyed> Page<T> {
    /// A page from the up to `limit + 1` rows a query read.
    pub fn from_rows(mut rows: Vec<T>, limit: u32) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(Keyed::key) } else { None };
        Page { items: rows, next }
    }
}

impl<T> Page<T> {
    /// The same page with its rows turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

/// Every row of a paged list.
pub async fn all<T, F, Fut>(mut read: F) -> Result<Vec<T>, super::DbError>
where
    T: Keyed,
    F: FnMut(PageQuery) -> Fut,
    Fut: std::future::Future<Output = super::DbResult<Page<T>>>,
{
    let mut rows = Vec::new();
    let mut page = PageQuery::first(MAX_LIMIT);
    loop {
        let got = read(page.clone()).await?;
        rows.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return Ok(rows),
        }
    }
}
