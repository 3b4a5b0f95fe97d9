//! Walking `parent_id` trees (contracts, installations).

use super::{DbConnection, Hold};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

/// A table whose rows link to a parent row through `parent_id`.
#[derive(Clone, Copy, Debug)]
pub enum Tree {
    Contracts,
    Installations,
}

impl Tree {
    fn table(self) -> &'static str {
        match self {
            Tree::Contracts => "contracts",
            Tree::Installations => "installations",
        }
    }

    /// The [`hold_key`](super::hold_key) class of the locks [`hold_trees`] takes, keyed by a
    /// tree's root.
    fn lock_class(self) -> i32 {
        match self {
            Tree::Contracts => 0x5043_0001,
            Tree::Installations => 0x5043_0002,
        }
    }
}

/// A row of a tree and its distance from the starting row.
#[derive(QueryableByName, Debug)]
pub struct Link {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Integer)]
    pub depth: i32,
}

/// Most levels one hierarchy may have, its root included. Deeper chains are refused when a
/// parent link is set, so every walk up or down and every `/ancestors` answer stays small.
pub const MAX_LEVELS: i32 = 20;

/// Levels [`ancestor_ids`] follows one statement each before it hands the rest of the chain to
/// the recursive query.
pub const NEAR_LEVELS: i32 = 4;

/// The parent link of a row: `None` when the row does not exist.
fn parent_of(conn: &mut DbConnection, tree: Tree, id: &str) -> QueryResult<Option<Option<String>>> {
    use super::schema::{contracts, installations};
    match tree {
        Tree::Contracts => contracts::table.find(id).select(contracts::parent_id).first(conn).optional(),
        Tree::Installations => installations::table.find(id).select(installations::parent_id).first(conn).optional(),
    }
}

/// The ids of `id` and its ancestors with their distance from `id` (0 = itself), nearest first.
/// Empty when `id` does not exist.
///
/// Most rows sit a level or two deep, so the first levels are followed by primary-key lookups,
/// which are prepared once per connection; the recursive query, which PostgreSQL parses and
/// plans on every call (0.65 ms of the 1.2 ms an installation's coverage took on the full set),
/// runs only for the part of a chain deeper than that.
pub fn ancestor_ids(conn: &mut DbConnection, tree: Tree, id: &str) -> QueryResult<Vec<Link>> {
    let mut links = Vec::new();
    let mut current = id.to_string();
    for depth in 0..NEAR_LEVELS {
        let Some(parent) = parent_of(conn, tree, &current)? else { return Ok(links) };
        links.push(Link { id: current, depth });
        match parent {
            Some(p) => current = p,
            None => return Ok(links),
        }
    }
    let deeper = ancestors_by_query(conn, tree, &current)?;
    links.extend(deeper.into_iter().map(|l| Link { id: l.id, depth: l.depth + NEAR_LEVELS }));
    Ok(links)
}

/// [`ancestor_ids`] of a row already loaded, given its parent: no query for the row itself.
pub fn ancestor_ids_of(conn: &mut DbConnection, tree: Tree, id: &str, parent: Option<&str>) -> QueryResult<Vec<Link>> {
    let mut links = vec![Link { id: id.to_string(), depth: 0 }];
    if let Some(parent) = parent {
        links.extend(ancestor_ids(conn, tree, parent)?.into_iter().map(|l| Link { id: l.id, depth: l.depth + 1 }));
    }
    Ok(links)
}

/// [`ancestor_ids`] in one recursive query.
fn ancestors_by_query(conn: &mut DbConnection, tree: Tree, id: &str) -> QueryResult<Vec<Link>> {
    let table = tree.table();
    diesel::sql_query(format!(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM {table} WHERE id = $1 \
             UNION ALL \
             SELECT t.id, t.parent_id, up.depth + 1 FROM {table} t JOIN up ON t.id = up.parent_id \
             WHERE up.depth < 10000 \
         ) SELECT id, CAST(depth AS INTEGER) AS depth FROM up ORDER BY depth"
    ))
    .bind::<Text, _>(id)
    .load(conn)
}

/// The ids of the descendants of `id` down to `max_depth` levels (1 = children).
pub fn descendant_ids(conn: &mut DbConnection, tree: Tree, id: &str, max_depth: i32) -> QueryResult<Vec<Link>> {
    let table = tree.table();
    diesel::sql_query(format!(
        "WITH RECURSIVE down(id, depth) AS ( \
             SELECT id, 1 FROM {table} WHERE parent_id = $1 \
             UNION ALL \
             SELECT t.id, down.depth + 1 FROM {table} t JOIN down ON t.parent_id = down.id \
             WHERE down.depth < $2 \
         ) SELECT id, CAST(depth AS INTEGER) AS depth FROM down"
    ))
    .bind::<Text, _>(id)
    .bind::<Integer, _>(max_depth)
    .load(conn)
}

/// Levels below `id` (0 for a leaf or a row not yet stored), looked for down to [`MAX_LEVELS`].
fn subtree_height(conn: &mut DbConnection, tree: Tree, id: &str) -> QueryResult<i32> {
    Ok(descendant_ids(conn, tree, id, MAX_LEVELS)?.iter().map(|l| l.depth).max().unwrap_or(0))
}

/// Holds, on PostgreSQL, the trees a move of the stored row `id` below `parent` joins, until
/// the transaction ends: a lock keyed by the root of each (`id`'s and `parent`'s), taken in the
/// order of the roots' ids. The move calls it before it locks anything else.
///
/// A move locks its own row and then the new parent's chain ([`check_parent`]); two moves that
/// would close a cycle between them would each wait for the other's row, a deadlock PostgreSQL
/// only breaks after a second. Moves within the same trees take turns on these locks first,
/// so they never meet in opposite orders; creates and other writes take none. Should the roots
/// have changed while the move waited (another move joined the trees), it runs again whole
/// (`Err`: a [`Transient`](crate::error::Transient) conflict).
pub fn hold_trees(conn: &mut DbConnection, tree: Tree, id: &str, parent: &str) -> Result<(), crate::error::ApiError> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(());
    }
    let held = roots(conn, tree, id, parent)?;
    for root in &held {
        super::hold_key(conn, tree.lock_class(), root)?;
    }
    if roots(conn, tree, id, parent)?.iter().any(|r| !held.contains(r)) {
        return Err(crate::error::ApiError::conflict(
            crate::error::CONCURRENT_UPDATE,
            "the hierarchy changed meanwhile; retry the request",
        ));
    }
    Ok(())
}

/// The roots of the trees of `id` and `parent` (a row that does not exist stands for itself),
/// in order, each once.
fn roots(conn: &mut DbConnection, tree: Tree, id: &str, parent: &str) -> QueryResult<Vec<String>> {
    let mut roots = Vec::with_capacity(2);
    for row in [id, parent] {
        roots.push(ancestor_ids(conn, tree, row)?.pop().map_or_else(|| row.to_string(), |l| l.id));
    }
    roots.sort_unstable();
    roots.dedup();
    Ok(roots)
}

/// Why a new parent link is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ParentProblem {
    /// The parent does not exist.
    Missing,
    /// The parent is the row itself or one of its descendants.
    Cycle,
    /// The row and the rows below it would end up deeper than [`MAX_LEVELS`].
    TooDeep,
}

/// Checks that `id` may hang below `parent`: the parent exists, is not `id` or below it, and the
/// deepest row of `id`'s subtree stays within [`MAX_LEVELS`].
///
/// Writes that set parent links run beside each other on PostgreSQL, so the check holds what it
/// reads until the transaction ends, in one order: first the row `id` itself (`FOR NO KEY UPDATE`;
/// absent when it is being created), then the new parent's chain from the parent up to the
/// root (`FOR SHARE`, one row at a time, each read as last committed after its lock). Two
/// moves that would close a cycle between them each lock their own row and then meet it in the
/// other's chain; [`hold_trees`], which every move takes first, makes one of them wait for
/// the other, which then sees its link. A row created or moved below `id` locks `id` in its
/// chain, so it is ordered against the move of `id` and the depth counted here; and since the chain is share-locked, a change to an ancestor (its
/// owner, which descendants inherit) waits for the writes below it, and they for it. SQLite
/// has one writer at a time.
pub fn check_parent(
    conn: &mut DbConnection,
    tree: Tree,
    id: &str,
    parent: &str,
) -> QueryResult<Result<(), ParentProblem>> {
    if parent == id {
        return Ok(Err(ParentProblem::Cycle));
    }
    let stored = held_parent_of(conn, tree, id, Hold::Update)?.is_some();
    let mut levels = 0;
    let mut current = Some(parent.to_string());
    while let Some(at) = current {
        let Some(up) = held_parent_of(conn, tree, &at, Hold::Share)? else {
            return Ok(Err(ParentProblem::Missing));
        };
        if at == id {
            return Ok(Err(ParentProblem::Cycle));
        }
        levels += 1;
        if levels >= MAX_LEVELS {
            return Ok(Err(ParentProblem::TooDeep));
        }
        current = up;
    }
    let height = if stored { subtree_height(conn, tree, id)? } else { 0 };
    Ok(if levels + 1 + height > MAX_LEVELS { Err(ParentProblem::TooDeep) } else { Ok(()) })
}

/// [`parent_of`], holding the row as `hold` says until the transaction ends.
fn held_parent_of(conn: &mut DbConnection, tree: Tree, id: &str, hold: Hold) -> QueryResult<Option<Option<String>>> {
    use super::schema::{contracts, installations};
    match tree {
        Tree::Contracts => crate::first_held!(conn, contracts::table.find(id).select(contracts::parent_id), hold),
        Tree::Installations => {
            crate::first_held!(conn, installations::table.find(id).select(installations::parent_id), hold)
        }
    }
}
