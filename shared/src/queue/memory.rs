//! An in-process queue with SQS's delivery semantics: visibility timeout, receive counts, and a move
//! to the dead-letter queue once a message has been received `max_receive_count` times.

use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

use super::{JobScheduler, JobSender, JobSource, OutgoingMessage, QueueError, ReceivedMessage};

pub struct MemoryQueue {
    name: String,
    arn: String,
    visibility: Duration,
    max_receive_count: u32,
    dead_letters: Option<Arc<MemoryQueue>>,
    messages: Mutex<VecDeque<Stored>>,
    arrived: Notify,
}

struct Stored {
    id: String,
    body: String,
    receive_count: u32,
    visible_at: Instant,
    receipt: Option<String>,
}

impl MemoryQueue {
    /// A queue whose messages go to `dead_letters` on their `max_receive_count + 1`-th receive.
    pub fn new(
        name: &str,
        visibility: Duration,
        max_receive_count: u32,
        dead_letters: Option<Arc<MemoryQueue>>,
    ) -> Self {
        Self {
            name: name.to_string(),
            arn: format!("arn:aws:sqs:local:000000000000:{name}"),
            visibility,
            max_receive_count,
            dead_letters,
            messages: Mutex::new(VecDeque::new()),
            arrived: Notify::new(),
        }
    }

    /// A dead-letter queue: nothing is redriven out of it.
    pub fn dead_letter(name: &str) -> Self {
        Self::new(name, Duration::from_secs(30), u32::MAX, None)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn push(&self, body: String) {
        self.messages.lock().expect("queue lock").push_back(Stored {
            id: ulid::Ulid::new().to_string(),
            body,
            receive_count: 0,
            visible_at: Instant::now(),
            receipt: None,
        });
        // One receiver per message is enough: waking every waiting receiver for each message
        // would have them all race for it.
        self.arrived.notify_one();
    }

    fn take_visible(&self, max: usize) -> Vec<ReceivedMessage> {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut dead = Vec::new();
        let mut messages = self.messages.lock().expect("queue lock");
        for m in messages.iter_mut() {
            if out.len() == max {
                break;
            }
            if m.visible_at > now {
                continue;
            }
            if m.receive_count >= self.max_receive_count && self.dead_letters.is_some() {
                dead.push(m.id.clone());
                continue;
            }
            m.receive_count += 1;
            m.visible_at = now + self.visibility;
            let receipt = ulid::Ulid::new().to_string();
            m.receipt = Some(receipt.clone());
            out.push(ReceivedMessage {
                message_id: m.id.clone(),
                receipt_handle: receipt,
                body: m.body.clone(),
                receive_count: m.receive_count,
            });
        }
        if let Some(dlq) = &self.dead_letters {
            for id in dead {
                if let Some(pos) = messages.iter().position(|m| m.id == id) {
                    let m = messages.remove(pos).expect("position is in range");
                    dlq.push(m.body);
                }
            }
        }
        out
    }

    /// Messages in the queue, visible or not (for tests and the local runner's status).
    pub fn len(&self) -> usize {
        self.messages.lock().expect("queue lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl JobSender for MemoryQueue {
    async fn send(&self, messages: Vec<OutgoingMessage>) -> Result<(), QueueError> {
        for m in messages {
            self.push(m.body);
        }
        Ok(())
    }
}

#[async_trait]
impl JobScheduler for MemoryQueue {
    async fn retry_after(&self, receipt_handle: &str, delay: Duration) -> Result<(), QueueError> {
        let mut messages = self.messages.lock().expect("queue lock");
        if let Some(m) = messages
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(receipt_handle))
        {
            m.visible_at = Instant::now() + delay;
        }
        Ok(())
    }
}

#[async_trait]
impl JobSource for MemoryQueue {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            let batch = self.take_visible(max);
            let now = Instant::now();
            if !batch.is_empty() || now >= deadline {
                return Ok(batch);
            }
            // Wake on a new message, or soon, since an invisible message may become visible.
            let nap = (deadline - now).min(Duration::from_millis(100));
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        // Received messages sit near the front (receives take from the front), so the search
        // stops early whatever the backlog behind them.
        let mut messages = self.messages.lock().expect("queue lock");
        if let Some(at) = messages
            .iter()
            .position(|m| m.receipt.as_deref() == Some(receipt_handle))
        {
            messages.remove(at);
        }
        Ok(())
    }

    fn arn(&self) -> &str {
        &self.arn
    }
}
