//! The operator's command line, with the AWS credentials and region of the environment
//! (`AWS_PROFILE`, `AWS_REGION`, …; `AWS_ENDPOINT_URL` for the local emulator).
//!
//!     gatehouse redrive <dead-letter queue URL> <queue URL>
//!
//! moves every message waiting in the dead-letter queue back to its queue, where the worker takes
//! it again with fresh retries; a job already delivered is acknowledged without sending again.

use anyhow::bail;
use gatehouse::app::aws;

const USAGE: &str = "usage: gatehouse redrive <dead-letter queue URL> <queue URL>";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["redrive", dead_letters, queue] => {
            let moved = aws::redrive(dead_letters, queue).await?;
            println!("moved {moved} messages from {dead_letters} to {queue}");
            Ok(())
        }
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}
