//! A minimal HTTP/1.1 client over a blocking TcpStream for the control-plane API tests: enough
//! for JSON requests, chunked bodies and Server-Sent Events, nothing hidden.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A request to 127.0.0.1:`port`.
pub struct Request<'a> {
    pub port: u16,
    pub method: &'a str,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub host: Option<&'a str>,
    pub body: Option<&'a str>,
    pub accept: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn new(port: u16, method: &'a str, path: &'a str) -> Self {
        Request {
            port,
            method,
            path,
            token: None,
            host: None,
            body: None,
            accept: None,
        }
    }

    pub fn token(mut self, t: &'a str) -> Self {
        self.token = Some(t);
        self
    }

    pub fn host(mut self, h: &'a str) -> Self {
        self.host = Some(h);
        self
    }

    pub fn json(mut self, b: &'a str) -> Self {
        self.body = Some(b);
        self
    }

    pub fn accept(mut self, a: &'a str) -> Self {
        self.accept = Some(a);
        self
    }

    fn open(&self) -> BufReader<TcpStream> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the API");
        s.set_read_timeout(Some(Duration::from_secs(180))).unwrap();
        let host = self
            .host
            .map(str::to_string)
            .unwrap_or_else(|| format!("127.0.0.1:{}", self.port));
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.path
        );
        if let Some(t) = self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if let Some(a) = self.accept {
            head.push_str(&format!("Accept: {a}\r\n"));
        }
        let body = self.body.unwrap_or("");
        if self.body.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        BufReader::new(s)
    }

    /// Sends and reads the whole response.
    pub fn send(self) -> Response {
        let mut r = self.open();
        let (status, headers) = read_head(&mut r);
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let mut body = Vec::new();
        if chunked {
            while let Some(chunk) = read_chunk(&mut r) {
                body.extend(chunk);
            }
        } else {
            r.read_to_end(&mut body).unwrap();
        }
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Sends and reads Server-Sent Events until `until(event, data)` says stop (or the stream
    /// ends); returns the events seen.
    pub fn events(self, mut until: impl FnMut(&str, &str) -> bool) -> (u16, Vec<(String, String)>) {
        let mut r = self.open();
        let (status, headers) = read_head(&mut r);
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let mut seen = Vec::new();
        let mut pending = String::new();
        let (mut event, mut data) = (String::new(), String::new());
        loop {
            let chunk = if chunked {
                match read_chunk(&mut r) {
                    Some(c) => c,
                    None => break,
                }
            } else {
                let mut buf = vec![0u8; 4096];
                let n = r.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                buf
            };
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(i) = pending.find('\n') {
                let line: String = pending.drain(..=i).collect();
                let line = line.trim_end_matches(['\r', '\n']);
                if line.is_empty() {
                    if !event.is_empty() || !data.is_empty() {
                        let stop = until(&event, &data);
                        seen.push((std::mem::take(&mut event), std::mem::take(&mut data)));
                        if stop {
                            return (status, seen);
                        }
                    }
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
        }
        (status, seen)
    }
}

fn read_head(r: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (status, headers)
}

fn read_chunk(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut size = String::new();
    if r.read_line(&mut size).ok()? == 0 {
        return None;
    }
    let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
    if n == 0 {
        return None;
    }
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).ok()?;
    let mut crlf = [0u8; 2];
    r.read_exact(&mut crlf).ok()?;
    Some(buf)
}
