//! SOURCE and SINK: Redis. One managed connection (it reconnects by itself) for reads and
//! writes, and for `TRIGGER=notify` a subscription to the input key's keyspace channel that wakes
//! the loop. Nothing here waits forever: every command has a response timeout, and a Redis that
//! is down only makes ticks fail until it is back. Reads are capped (`GETRANGE 0 cap`), so a
//! huge value never reaches memory whole.
//!
//! The loops see Redis through [`Source`], so their unit tests run over an in-memory one.

use std::pin::Pin;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo};
use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::config::RedisSettings;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Redis cannot be reached: an outage, logged once until it ends.
    #[error("redis is unreachable: {0}")]
    Down(String),
    /// Redis answered with an error (the input key holds a list, the server is out of memory).
    #[error("redis refused the command: {0}")]
    Command(String),
}

impl From<redis::RedisError> for SourceError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            SourceError::Down(e.to_string())
        } else {
            SourceError::Command(e.to_string())
        }
    }
}

/// The previous output written and the next input read, in one round trip.
#[derive(Debug)]
pub struct Exchange {
    /// The write, handed back when it did not happen (to retry it).
    pub unwritten: Option<(String, Vec<u8>)>,
    /// Why the write failed, when it did.
    pub write_error: Option<SourceError>,
    pub read: Result<Option<Vec<u8>>, SourceError>,
}

/// What the loops need of Redis.
// The loops run on a current-thread runtime: their futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Source: Clone {
    /// At most `cap + 1` bytes of `key` (`None` when absent or empty): more than `cap` means
    /// the value is too big.
    async fn get(&mut self, key: &str, cap: usize) -> Result<Option<Vec<u8>>, SourceError>;

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), SourceError>;

    /// `SET` the previous output (when given) and read the next input in one round trip.
    async fn write_then_read(&mut self, write: Option<(String, Vec<u8>)>, key: &str, cap: usize) -> Exchange;
}

#[derive(Clone)]
pub struct Redis {
    client: Client,
    conn: ConnectionManager,
}

/// The client for the settings: the redis crate parses the URL (credentials percent-decoded);
/// `REDIS_USERNAME` and `REDIS_PASSWORD` override what the URL holds.
fn client(settings: &RedisSettings) -> Result<Client, redis::RedisError> {
    let mut info = settings.connect_url.as_str().into_connection_info()?;
    let mut redis_info = info.redis_settings().clone();
    if let Some(user) = &settings.username {
        redis_info = redis_info.set_username(user);
    }
    if let Some(password) = &settings.password {
        redis_info = redis_info.set_password(password);
    }
    info = info.set_redis_settings(redis_info);
    match &settings.tls {
        None => Client::open(info),
        Some(tls) => Client::build_with_tls(
            info,
            redis::TlsCertificates {
                client_tls: tls.client_pem.as_ref().map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
                root_cert: tls.ca_pem.clone(),
            },
        ),
    }
}

fn capped_read(key: &str, cap: usize) -> redis::Cmd {
    let mut cmd = redis::cmd("GETRANGE");
    cmd.arg(key).arg(0).arg(cap);
    cmd
}

fn nonempty(value: Vec<u8>) -> Option<Vec<u8>> {
    (!value.is_empty()).then_some(value)
}

impl Redis {
    /// Prepare the connection without waiting for Redis: it connects on first use.
    pub fn connect(settings: &RedisSettings) -> Result<Redis, redis::RedisError> {
        let client = client(settings)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Redis { client, conn })
    }

    /// Whether the server publishes keyspace events for string writes.
    pub async fn notifications_enabled(&mut self) -> Result<bool, SourceError> {
        let pair: Vec<String> =
            redis::cmd("CONFIG").arg("GET").arg("notify-keyspace-events").query_async(&mut self.conn).await?;
        let flags = pair.get(1).cloned().unwrap_or_default();
        Ok(flags.contains('K') && (flags.contains('$') || flags.contains('A')))
    }

    /// Subscribe to the input key's keyspace channel; each event sends `()` on the returned
    /// channel. The task resubscribes with backoff when the connection drops.
    pub fn watch(&self, key: &str, db: i64) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel(1);
        let client = self.client.clone();
        let channel = format!("__keyspace@{db}__:{key}");
        tokio::spawn(async move {
            let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
            loop {
                if let Ok(mut pubsub) = client.get_async_pubsub().await
                    && pubsub.subscribe(&channel).await.is_ok()
                {
                    backoff.reset();
                    let mut stream = pubsub.into_on_message();
                    while std::future::poll_fn(|cx| {
                        futures_core::Stream::poll_next(Pin::new(&mut stream), cx)
                    })
                    .await
                    .is_some()
                    {
                        // A full channel already holds a wake-up: nothing is lost.
                        let _ = tx.try_send(());
                    }
                }
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        });
        rx
    }
}

impl Source for Redis {
    async fn get(&mut self, key: &str, cap: usize) -> Result<Option<Vec<u8>>, SourceError> {
        let value: Vec<u8> = capped_read(key, cap).query_async(&mut self.conn).await?;
        Ok(nonempty(value))
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), SourceError> {
        let () = redis::cmd("SET").arg(key).arg(value).query_async(&mut self.conn).await?;
        Ok(())
    }

    async fn write_then_read(&mut self, write: Option<(String, Vec<u8>)>, key: &str, cap: usize) -> Exchange {
        let Some((out_key, value)) = write else {
            return Exchange { unwritten: None, write_error: None, read: self.get(key, cap).await };
        };
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(&out_key).arg(&value).ignore().add_command(capped_read(key, cap));
        match pipe.query_async::<(Vec<u8>,)>(&mut self.conn).await {
            Ok((input,)) => Exchange { unwritten: None, write_error: None, read: Ok(nonempty(input)) },
            Err(e) => match SourceError::from(e) {
                down @ SourceError::Down(_) => {
                    Exchange { unwritten: Some((out_key, value)), write_error: None, read: Err(down) }
                }
                // A command failed: find out which, the write (an out-of-memory server, a
                // read-only replica) or the read (a key of another type).
                refused => {
                    let read = self.get(key, cap).await;
                    if read.is_ok() {
                        Exchange { unwritten: Some((out_key, value)), write_error: Some(refused), read }
                    } else {
                        let write = self.set(&out_key, &value).await.err();
                        let unwritten = write.is_some().then_some((out_key, value));
                        Exchange { unwritten, write_error: write, read }
                    }
                }
            },
        }
    }
}
