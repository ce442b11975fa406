//! SOURCE and SINK: Redis. One managed connection (it reconnects by itself) for `GET`/`SET`,
//! and for `TRIGGER=notify` a subscription to the input key's keyspace channel that wakes the
//! loop. Nothing here waits forever: every command has a response timeout, and a Redis that is
//! down only makes ticks fail until it is back.

use std::pin::Pin;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo};
use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::config::RedisSettings;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Redis cannot be reached: an outage, logged once until it ends.
    #[error("redis is unreachable: {0}")]
    Down(String),
    /// Redis answered with an error (e.g. the input key holds a list).
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

#[derive(Clone)]
pub struct Redis {
    client: Client,
    conn: ConnectionManager,
}

/// The client for the settings, with the credentials set apart from the logged URL.
fn client(settings: &RedisSettings) -> Result<Client, redis::RedisError> {
    let mut info = settings.url.as_str().into_connection_info()?;
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

    pub async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(redis::cmd("GET").arg(key).query_async(&mut self.conn).await?)
    }

    pub async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), SourceError> {
        let () = redis::cmd("SET").arg(key).arg(value).query_async(&mut self.conn).await?;
        Ok(())
    }

    /// `SET output` (when given) and `GET input` in one round trip. On an outage the write is
    /// handed back so it can be retried; a command error (e.g. `WRONGTYPE` on the input)
    /// concerns the `GET`, as a `SET` does not fail that way.
    pub async fn write_then_read(
        &mut self,
        write: Option<(String, Vec<u8>)>,
        input_key: &str,
    ) -> (Option<(String, Vec<u8>)>, Result<Option<Vec<u8>>, SourceError>) {
        let Some((key, value)) = write else { return (None, self.get(input_key).await) };
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(&key).arg(&value).ignore().cmd("GET").arg(input_key);
        match pipe.query_async::<(Option<Vec<u8>>,)>(&mut self.conn).await {
            Ok((input,)) => (None, Ok(input)),
            Err(e) => match SourceError::from(e) {
                down @ SourceError::Down(_) => (Some((key, value)), Err(down)),
                refused => (None, Err(refused)),
            },
        }
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
