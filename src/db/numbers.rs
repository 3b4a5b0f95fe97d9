//! Running numbers handed out to new rows (contract and service-call numbers).
//!
//! On PostgreSQL each comes from a sequence, which never waits: writes that take numbers run
//! beside each other, where a counter row would stay locked until the commit of the write
//! that moved it and make every other one wait for that. A sequence does not roll back, so a
//! write that takes a number and then fails leaves that number unused (a gap). SQLite, with
//! one writer at a time, counts in the `counters` table and leaves no gaps.

use super::schema::counters;
use super::DbConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// One source of running numbers: a PostgreSQL sequence and the `counters` row SQLite uses.
#[derive(Clone, Copy, Debug)]
pub struct Numbers {
    /// The PostgreSQL sequence.
    pub sequence: &'static str,
    /// The name of the SQLite counter row.
    pub counter: &'static str,
}

diesel::define_sql_function! {
    /// PostgreSQL's `nextval` of a sequence.
    fn nextval(sequence: Text) -> BigInt;
}

diesel::define_sql_function! {
    /// PostgreSQL's `setval` of a sequence.
    fn setval(sequence: Text, value: BigInt) -> BigInt;
}

impl Numbers {
    /// Takes the next number.
    pub fn next(self, conn: &mut DbConnection) -> QueryResult<i64> {
        match conn {
            DbConnection::Postgres(c) => diesel::select(nextval(self.sequence)).get_result(c),
            DbConnection::Sqlite(_) => self.take_counter(conn, 1),
        }
    }

    /// Takes the next `n` numbers, in ascending order. Writes beside this one may take numbers
    /// in between on PostgreSQL, so they need not follow each other.
    pub fn take(self, conn: &mut DbConnection, n: i64) -> QueryResult<Vec<i64>> {
        if n <= 0 {
            return Ok(Vec::new());
        }
        match conn {
            DbConnection::Postgres(c) => {
                let taken: Vec<Taken> = diesel::sql_query("SELECT nextval($1) AS value FROM generate_series(1, $2)")
                    .bind::<Text, _>(self.sequence)
                    .bind::<BigInt, _>(n)
                    .load(c)?;
                let mut taken: Vec<i64> = taken.into_iter().map(|t| t.value).collect();
                taken.sort_unstable();
                Ok(taken)
            }
            DbConnection::Sqlite(_) => {
                let last = self.take_counter(conn, n)?;
                Ok((last - n + 1..=last).collect())
            }
        }
    }

    /// Gives back the last `n` numbers this transaction took, which it did not use. SQLite's
    /// single writer took them last, so its counter moves back and leaves no gap; a PostgreSQL
    /// sequence cannot move back (others may have taken numbers since), so they stay unused.
    pub fn give_back(self, conn: &mut DbConnection, n: i64) -> QueryResult<()> {
        match conn {
            DbConnection::Sqlite(_) if n > 0 => self.take_counter(conn, -n).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Makes `taken` the last number handed out (after a bulk load).
    pub fn set_taken(self, conn: &mut DbConnection, taken: i64) -> QueryResult<()> {
        match conn {
            // A sequence cannot be set to 0; one never used hands out 1 first, as it should.
            DbConnection::Postgres(c) if taken > 0 => diesel::select(setval(self.sequence, taken)).execute(c),
            DbConnection::Postgres(c) => {
                diesel::sql_query(format!("ALTER SEQUENCE {} RESTART", self.sequence)).execute(c)
            }
            DbConnection::Sqlite(_) => {
                diesel::delete(counters::table.filter(counters::name.eq(self.counter))).execute(conn)?;
                diesel::insert_into(counters::table)
                    .values((counters::name.eq(self.counter), counters::value.eq(taken)))
                    .execute(conn)
            }
        }
        .map(|_| ())
    }

    /// Moves the SQLite counter by `n` and gives its new value: one upsert, so the first use of
    /// a counter needs no row made beforehand.
    fn take_counter(self, conn: &mut DbConnection, n: i64) -> QueryResult<i64> {
        let row: Taken = diesel::sql_query(
            "INSERT INTO counters (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 \
             RETURNING value",
        )
        .bind::<Text, _>(self.counter)
        .bind::<BigInt, _>(n)
        .get_result(conn)?;
        Ok(row.value)
    }
}

/// A number a raw statement gave.
#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    value: i64,
}
