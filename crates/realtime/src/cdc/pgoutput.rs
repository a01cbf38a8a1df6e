//! Decoder for the `pgoutput` logical replication protocol (version 1).
//!
//! Pure functions over bytes: each slot row carries exactly one message.

use thiserror::Error;

/// A pgoutput message that could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PgOutputError {
    /// The message ended early.
    #[error("pgoutput message truncated")]
    Truncated,
    /// A tag byte is unknown.
    #[error("unknown pgoutput tag `{0}`")]
    UnknownTag(char),
    /// A name is not UTF-8.
    #[error("pgoutput string is not UTF-8")]
    Utf8,
}

/// One column of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleValue {
    /// SQL NULL.
    Null,
    /// An unchanged TOASTed value (not sent).
    Unchanged,
    /// Text output of the column's type.
    Text(String),
}

/// Column metadata of a relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity.
    pub is_key: bool,
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
}

/// A relation (table) description, sent before its first change in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Table OID.
    pub id: u32,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Replica identity setting (`d`, `n`, `f`, `i`).
    pub replica_identity: u8,
    /// Columns in attnum order.
    pub columns: Vec<RelationColumn>,
}

/// A decoded pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Transaction start, with its commit timestamp (µs since 2000-01-01).
    Begin {
        /// LSN of the transaction's commit record (identifies the transaction in the stream).
        final_lsn: u64,
        /// Commit timestamp.
        commit_ts: i64,
    },
    /// Transaction end.
    Commit {
        /// Commit timestamp.
        commit_ts: i64,
    },
    /// Table description.
    Relation(Relation),
    /// New row.
    Insert {
        /// Table OID.
        rel: u32,
        /// New tuple.
        new: Vec<TupleValue>,
    },
    /// Changed row; `old` is present for REPLICA IDENTITY FULL or a changed key.
    Update {
        /// Table OID.
        rel: u32,
        /// Old key or full old row.
        old: Option<Vec<TupleValue>>,
        /// New tuple.
        new: Vec<TupleValue>,
    },
    /// Deleted row: key columns or the full old row.
    Delete {
        /// Table OID.
        rel: u32,
        /// Old key or full old row.
        old: Vec<TupleValue>,
    },
    /// Anything we do not deliver (type, origin, truncate, logical message).
    Ignored(char),
}

struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PgOutputError> {
        if self.b.len() < n {
            return Err(PgOutputError::Truncated);
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, PgOutputError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, PgOutputError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, PgOutputError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i64(&mut self) -> Result<i64, PgOutputError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(i64::from_be_bytes(a))
    }
    fn cstr(&mut self) -> Result<String, PgOutputError> {
        let end = self
            .b
            .iter()
            .position(|&c| c == 0)
            .ok_or(PgOutputError::Truncated)?;
        let s = std::str::from_utf8(&self.b[..end]).map_err(|_| PgOutputError::Utf8)?;
        self.b = &self.b[end + 1..];
        Ok(s.to_string())
    }
    fn tuple(&mut self) -> Result<Vec<TupleValue>, PgOutputError> {
        let n = self.u16()? as usize;
        let mut out = Vec::with_capacity(n.min(1600));
        for _ in 0..n {
            out.push(match self.u8()? {
                b'n' => TupleValue::Null,
                b'u' => TupleValue::Unchanged,
                b't' | b'b' => {
                    let len = self.u32()? as usize;
                    let raw = self.take(len)?;
                    TupleValue::Text(String::from_utf8_lossy(raw).into_owned())
                }
                other => return Err(PgOutputError::UnknownTag(other as char)),
            });
        }
        Ok(out)
    }
}

/// Decodes one pgoutput message.
pub fn decode(bytes: &[u8]) -> Result<Message, PgOutputError> {
    let mut c = Cursor { b: bytes };
    let tag = c.u8()?;
    Ok(match tag {
        b'B' => {
            let final_lsn = c.i64()? as u64;
            let commit_ts = c.i64()?;
            let _xid = c.u32()?;
            Message::Begin {
                final_lsn,
                commit_ts,
            }
        }
        b'C' => {
            let _flags = c.u8()?;
            let _commit_lsn = c.i64()?;
            let _end_lsn = c.i64()?;
            Message::Commit {
                commit_ts: c.i64()?,
            }
        }
        b'R' => {
            let id = c.u32()?;
            let schema = c.cstr()?;
            let name = c.cstr()?;
            let replica_identity = c.u8()?;
            let n = c.u16()? as usize;
            let mut columns = Vec::with_capacity(n.min(1600));
            for _ in 0..n {
                let flags = c.u8()?;
                let name = c.cstr()?;
                let type_oid = c.u32()?;
                let _typmod = c.u32()?;
                columns.push(RelationColumn {
                    is_key: flags & 1 == 1,
                    name,
                    type_oid,
                });
            }
            Message::Relation(Relation {
                id,
                schema,
                name,
                replica_identity,
                columns,
            })
        }
        b'I' => {
            let rel = c.u32()?;
            expect(&mut c, b'N')?;
            Message::Insert {
                rel,
                new: c.tuple()?,
            }
        }
        b'U' => {
            let rel = c.u32()?;
            let mut old = None;
            let mut marker = c.u8()?;
            if marker == b'K' || marker == b'O' {
                old = Some(c.tuple()?);
                marker = c.u8()?;
            }
            if marker != b'N' {
                return Err(PgOutputError::UnknownTag(marker as char));
            }
            Message::Update {
                rel,
                old,
                new: c.tuple()?,
            }
        }
        b'D' => {
            let rel = c.u32()?;
            let marker = c.u8()?;
            if marker != b'K' && marker != b'O' {
                return Err(PgOutputError::UnknownTag(marker as char));
            }
            Message::Delete {
                rel,
                old: c.tuple()?,
            }
        }
        b'Y' | b'O' | b'T' | b'M' => Message::Ignored(tag as char),
        other => return Err(PgOutputError::UnknownTag(other as char)),
    })
}

fn expect(c: &mut Cursor<'_>, want: u8) -> Result<(), PgOutputError> {
    let got = c.u8()?;
    if got == want {
        Ok(())
    } else {
        Err(PgOutputError::UnknownTag(got as char))
    }
}

/// Formats a pgoutput timestamp (µs since 2000-01-01 UTC) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_commit_ts(micros_since_2000: i64) -> String {
    const UNIX_TO_PG_DAYS: i64 = 10_957;
    let ms = micros_since_2000.div_euclid(1000);
    let days = ms.div_euclid(86_400_000) + UNIX_TO_PG_DAYS;
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Days since 1970-01-01 to a (year, month, day) civil date (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation_bytes() -> Vec<u8> {
        let mut b = vec![b'R'];
        b.extend_from_slice(&16384u32.to_be_bytes());
        b.extend_from_slice(b"public\0todos\0");
        b.push(b'd');
        b.extend_from_slice(&2u16.to_be_bytes());
        b.push(1);
        b.extend_from_slice(b"id\0");
        b.extend_from_slice(&20u32.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.push(0);
        b.extend_from_slice(b"task\0");
        b.extend_from_slice(&25u32.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b
    }

    #[test]
    fn decodes_relation_and_insert() {
        let Message::Relation(r) = decode(&relation_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.schema.as_str(), r.name.as_str(), r.id),
            ("public", "todos", 16384)
        );
        assert!(r.columns[0].is_key && !r.columns[1].is_key);
        let mut ins = vec![b'I'];
        ins.extend_from_slice(&16384u32.to_be_bytes());
        ins.push(b'N');
        ins.extend_from_slice(&2u16.to_be_bytes());
        ins.push(b't');
        ins.extend_from_slice(&1u32.to_be_bytes());
        ins.push(b'5');
        ins.push(b'n');
        assert_eq!(
            decode(&ins).unwrap(),
            Message::Insert {
                rel: 16384,
                new: vec![TupleValue::Text("5".into()), TupleValue::Null]
            }
        );
    }

    #[test]
    fn decodes_update_with_old_key() {
        let mut b = vec![b'U'];
        b.extend_from_slice(&7u32.to_be_bytes());
        b.push(b'K');
        b.extend_from_slice(&1u16.to_be_bytes());
        b.push(b'u');
        b.push(b'N');
        b.extend_from_slice(&1u16.to_be_bytes());
        b.push(b'n');
        assert_eq!(
            decode(&b).unwrap(),
            Message::Update {
                rel: 7,
                old: Some(vec![TupleValue::Unchanged]),
                new: vec![TupleValue::Null]
            }
        );
    }

    #[test]
    fn truncated_and_garbage_are_errors() {
        let full = relation_bytes();
        for n in 0..full.len() {
            assert!(decode(&full[..n]).is_err(), "prefix {n}");
        }
        assert_eq!(decode(b"Z"), Err(PgOutputError::UnknownTag('Z')));
        assert!(decode(&[b'I', 0, 0, 0, 1, b'X']).is_err());
        assert!(decode(&[b'I', 0, 0, 0, 1, b'N', 0, 1, b't', 255, 255, 255, 255]).is_err());
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_commit_ts(0), "2000-01-01T00:00:00.000Z");
        // 2024-04-20T09:10:11.123456Z
        let us = (1_713_604_211_123_456i64) - 946_684_800_000_000;
        assert_eq!(format_commit_ts(us), "2024-04-20T09:10:11.123Z");
        assert_eq!(format_commit_ts(-1000), "1999-12-31T23:59:59.999Z");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
