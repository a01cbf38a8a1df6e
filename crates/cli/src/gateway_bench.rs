//! `supalove-gateway-bench [round trips]`: what the per-project gateway (nginx) adds to a
//! broadcast round trip. One native project with the gateway in front (the test-only setting
//! `SUPALOVE_NATIVE_GATEWAY=1`); two clients of our Rust client, one through the gateway
//! (the card's realtime_url), one straight to the engine container's address on the project
//! network. Each round sends a broadcast to itself (self: true) on both, alternating, and
//! times send → receive. Prints p50/p99/mean per path and the difference. It measures; it
//! asserts nothing.

use std::time::{Duration, Instant};

#[path = "bench_kit.rs"]
mod bench_kit;
use bench_kit::{docker, run_supalove, sibling};

use supalove_client::{ChannelConfig, ClientOptions, Event, RealtimeClient, Vsn};
use tokio::sync::mpsc::UnboundedReceiver;

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(2000);
    let supalove = sibling("supalove")?;
    let home = tempfile::tempdir()?;
    let gateway = [("SUPALOVE_NATIVE_GATEWAY", "1")];
    let run =
        |args: &[&str]| run_supalove(&supalove, home.path(), ("57600", "9600"), &gateway, args);
    let name = "bench-gateway";
    run(&["new", name])?;
    let result = measure(&run, name, rounds);
    run(&["rm", name, "--volumes", "--no-backup", "--yes"])?;
    result
}

fn measure(
    run: &dyn Fn(&[&str]) -> anyhow::Result<String>,
    name: &str,
    rounds: usize,
) -> anyhow::Result<()> {
    let env: serde_json::Value = serde_json::from_str(&run(&["env", name, "--json"])?)?;
    let token = env["ANON_KEY"].as_str().unwrap_or_default().to_string();
    let via_gateway = env["REALTIME_URL"].as_str().unwrap_or_default().to_string();
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &format!("project_{name}_realtime"),
    ])?;
    let direct = format!("ws://{ip}:4000/socket");

    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let mut gw = Side::open(&via_gateway, &token).await?;
        let mut dr = Side::open(&direct, &token).await?;
        // Warm both paths (connections, nginx's DNS lookup, the engine's rooms).
        for _ in 0..50 {
            gw.round_trip().await?;
            dr.round_trip().await?;
        }
        let (mut g, mut d) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        for i in 0..rounds {
            // Alternate which goes first, so neither always sees a warmer engine.
            if i % 2 == 0 {
                g.push(gw.round_trip().await?);
                d.push(dr.round_trip().await?);
            } else {
                d.push(dr.round_trip().await?);
                g.push(gw.round_trip().await?);
            }
        }
        gw.client.close();
        dr.client.close();
        print_table(rounds, &mut d, &mut g);
        anyhow::Ok(())
    })
}

/// One client joined to its own room with `self: true`.
struct Side {
    client: RealtimeClient,
    events: UnboundedReceiver<Event>,
    topic: String,
    seq: u64,
}

impl Side {
    async fn open(url: &str, token: &str) -> anyhow::Result<Side> {
        let mut options = ClientOptions::new(url);
        options.vsn = Vsn::V1;
        options.reconnect = false;
        let (client, events) = supalove_client::connect(options, token).await?;
        let topic = supalove_client::topic(&format!("bench-{}", url.len()));
        let config = ChannelConfig {
            broadcast_self: true,
            ..Default::default()
        };
        client.join(&topic, &config).await?;
        Ok(Side {
            client,
            events,
            topic,
            seq: 0,
        })
    }

    /// Sends one broadcast and waits for it to come back.
    async fn round_trip(&mut self) -> anyhow::Result<Duration> {
        self.seq += 1;
        let want = self.seq;
        let t = Instant::now();
        self.client
            .broadcast(
                &self.topic,
                "ping",
                serde_json::json!({ "seq": want }),
                false,
            )
            .await?;
        let deadline = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(Event::Broadcast { payload, .. }) if payload["seq"] == want => return Ok(t.elapsed()),
                    Some(_) => {}
                    None => anyhow::bail!("the socket closed"),
                },
                _ = &mut deadline => anyhow::bail!("broadcast {want} did not come back within 5 s"),
            }
        }
    }
}

fn print_table(rounds: usize, direct: &mut [Duration], gateway: &mut [Duration]) {
    direct.sort();
    gateway.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let mean = |v: &[Duration]| v.iter().sum::<Duration>() / v.len() as u32;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("broadcast round trip (self: true, vsn 1.0.0), {rounds} rounds per path, alternating");
    println!(
        "{:<22}{:>12}{:>12}{:>12}",
        "path", "p50 µs", "p99 µs", "mean µs"
    );
    for (label, v) in [
        ("direct to the engine", &*direct),
        ("through the gateway", &*gateway),
    ] {
        println!(
            "{label:<22}{:>12.0}{:>12.0}{:>12.0}",
            us(pct(v, 0.5)),
            us(pct(v, 0.99)),
            us(mean(v))
        );
    }
    println!(
        "{:<22}{:>12.0}{:>12.0}{:>12.0}",
        "gateway adds",
        us(pct(gateway, 0.5)) - us(pct(direct, 0.5)),
        us(pct(gateway, 0.99)) - us(pct(direct, 0.99)),
        us(mean(gateway)) - us(mean(direct))
    );
}
