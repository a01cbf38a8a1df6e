//! A minimal client for Postgres streaming logical replication (push, no polling).
//!
//! tokio-postgres has no replication mode, so this speaks the few messages needed: startup
//! with `replication=database`, authentication (trust, password, md5, SCRAM-SHA-256), simple
//! queries, `START_REPLICATION`, XLogData/keepalive frames and standby status updates.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::frontend;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::DbConfig;

/// A replication connection failure.
#[derive(Debug, Error)]
pub enum ReplicationError {
    /// Network error.
    #[error("replication connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered with an error.
    #[error("{severity}: {message}")]
    Server {
        /// SQLSTATE code.
        code: String,
        /// Severity.
        severity: String,
        /// Message.
        message: String,
    },
    /// Something we do not understand.
    #[error("replication protocol: {0}")]
    Protocol(String),
}

/// One frame from the replication stream.
#[derive(Debug)]
pub enum Frame {
    /// WAL data: a pgoutput message starting at `wal_start`.
    XLogData {
        /// LSN the message starts at.
        wal_start: u64,
        /// The pgoutput message.
        data: Bytes,
    },
    /// Keepalive; `reply` asks for a status update now.
    Keepalive {
        /// End of the WAL the server has sent so far.
        wal_end: u64,
        /// Server asks for an immediate status update.
        reply: bool,
    },
}

/// An open replication connection.
pub struct ReplicationConn {
    stream: TcpStream,
    rbuf: BytesMut,
}

fn proto(msg: &str) -> ReplicationError {
    ReplicationError::Protocol(msg.to_string())
}

fn server_error(mut body: Bytes) -> ReplicationError {
    let (mut code, mut severity, mut message) =
        (String::new(), String::from("ERROR"), String::new());
    while body.has_remaining() {
        let field = body.get_u8();
        if field == 0 {
            break;
        }
        let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
        let value = String::from_utf8_lossy(&body[..end]).into_owned();
        body.advance((end + 1).min(body.len()));
        match field {
            b'C' => code = value,
            b'S' => severity = value,
            b'M' => message = value,
            _ => {}
        }
    }
    ReplicationError::Server {
        code,
        severity,
        message,
    }
}

impl ReplicationConn {
    /// Connects and authenticates with `replication=database`.
    pub async fn connect(db: &DbConfig) -> Result<ReplicationConn, ReplicationError> {
        let stream = TcpStream::connect((db.host.as_str(), db.port)).await?;
        stream.set_nodelay(true)?;
        let mut conn = ReplicationConn {
            stream,
            rbuf: BytesMut::with_capacity(8192),
        };
        let mut buf = BytesMut::new();
        frontend::startup_message(
            [
                ("user", db.user.as_str()),
                ("database", db.name.as_str()),
                ("replication", "database"),
                ("application_name", "supalove-realtime-stream"),
                ("client_encoding", "UTF8"),
            ],
            &mut buf,
        )?;
        conn.write(&buf).await?;
        let mut scram: Option<ScramSha256> = None;
        loop {
            let (tag, mut body) = conn.next_message().await?;
            match tag {
                b'R' => {
                    if body.remaining() < 4 {
                        return Err(proto("short authentication message"));
                    }
                    let kind = body.get_i32();
                    let mut out = BytesMut::new();
                    match kind {
                        0 => continue,
                        3 => frontend::password_message(db.password.as_bytes(), &mut out)?,
                        5 => {
                            if body.remaining() < 4 {
                                return Err(proto("short md5 salt"));
                            }
                            let salt = [body[0], body[1], body[2], body[3]];
                            let hash = md5_hash(db.user.as_bytes(), db.password.as_bytes(), salt);
                            frontend::password_message(hash.as_bytes(), &mut out)?;
                        }
                        10 => {
                            let offers = String::from_utf8_lossy(&body).into_owned();
                            if !offers.split('\0').any(|m| m == SCRAM_SHA_256) {
                                return Err(proto("server offers no supported SASL mechanism"));
                            }
                            let s = ScramSha256::new(
                                db.password.as_bytes(),
                                ChannelBinding::unsupported(),
                            );
                            frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out)?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| proto("SASL continue without start"))?;
                            s.update(&body)?;
                            frontend::sasl_response(s.message(), &mut out)?;
                        }
                        12 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| proto("SASL final without start"))?;
                            s.finish(&body)?;
                            continue;
                        }
                        other => {
                            return Err(ReplicationError::Protocol(format!(
                                "authentication method {other} is not supported"
                            )))
                        }
                    }
                    conn.write(&out).await?;
                }
                b'E' => return Err(server_error(body)),
                b'Z' => return Ok(conn),
                _ => {}
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ReplicationError> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads one backend message (cancel-safe: partial input stays buffered).
    pub async fn next_message(&mut self) -> Result<(u8, Bytes), ReplicationError> {
        loop {
            if self.rbuf.len() >= 5 {
                let len =
                    i32::from_be_bytes([self.rbuf[1], self.rbuf[2], self.rbuf[3], self.rbuf[4]]);
                if len < 4 {
                    return Err(proto("negative message length"));
                }
                let total = 1 + len as usize;
                if self.rbuf.len() >= total {
                    let mut msg = self.rbuf.split_to(total).freeze();
                    let tag = msg.get_u8();
                    msg.advance(4);
                    return Ok((tag, msg));
                }
                self.rbuf.reserve(total - self.rbuf.len());
            }
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                return Err(proto("server closed the replication connection"));
            }
        }
    }

    /// Runs a replication command, discarding its rows.
    pub async fn command(&mut self, sql: &str) -> Result<(), ReplicationError> {
        let mut buf = BytesMut::new();
        frontend::query(sql, &mut buf)?;
        self.write(&buf).await?;
        let mut failure = None;
        loop {
            let (tag, body) = self.next_message().await?;
            match tag {
                b'E' => failure = Some(server_error(body)),
                b'Z' => return failure.map_or(Ok(()), Err),
                _ => {}
            }
        }
    }

    /// Starts streaming `slot` with pgoutput for `publication`.
    pub async fn start(&mut self, slot: &str, publication: &str) -> Result<(), ReplicationError> {
        let sql = format!(
            "START_REPLICATION SLOT \"{slot}\" LOGICAL 0/0 (\"proto_version\" '1', \"publication_names\" '{publication}')"
        );
        let mut buf = BytesMut::new();
        frontend::query(&sql, &mut buf)?;
        self.write(&buf).await?;
        loop {
            let (tag, body) = self.next_message().await?;
            match tag {
                b'W' => return Ok(()),
                b'E' => return Err(server_error(body)),
                _ => {}
            }
        }
    }

    /// Next frame of the stream.
    pub async fn next_frame(&mut self) -> Result<Frame, ReplicationError> {
        loop {
            let (tag, mut body) = self.next_message().await?;
            match tag {
                b'd' if body.first() == Some(&b'w') && body.len() >= 25 => {
                    body.advance(1);
                    let wal_start = body.get_u64();
                    body.advance(16);
                    return Ok(Frame::XLogData {
                        wal_start,
                        data: body,
                    });
                }
                b'd' if body.first() == Some(&b'k') && body.len() >= 18 => {
                    let reply = body[17] == 1;
                    body.advance(1);
                    return Ok(Frame::Keepalive {
                        wal_end: body.get_u64(),
                        reply,
                    });
                }
                b'd' => return Err(proto("unknown CopyData frame")),
                b'E' => return Err(server_error(body)),
                b'c' => return Err(proto("server ended the replication stream")),
                _ => {}
            }
        }
    }

    /// Tells the server everything up to `lsn` is processed (lets it recycle WAL).
    pub async fn confirm(&mut self, lsn: u64) -> Result<(), ReplicationError> {
        const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let mut body = BytesMut::with_capacity(34);
        body.put_u8(b'r');
        body.put_u64(lsn);
        body.put_u64(lsn);
        body.put_u64(lsn);
        body.put_i64(now - PG_EPOCH_OFFSET_US);
        body.put_u8(0);
        let mut msg = BytesMut::with_capacity(39);
        msg.put_u8(b'd');
        msg.put_i32(4 + body.len() as i32);
        msg.put_slice(&body);
        self.write(&msg).await
    }
}
