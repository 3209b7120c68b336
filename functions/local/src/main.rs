//! The local runner: the whole of Gatehouse in one process on 127.0.0.1:$PORT (3000).
//! Embedded by default (memory store, in-process queues, `.eml` files in $OUTBOX_DIR); with
//! `AWS_ENDPOINT_URL` set, the AWS-shaped pipeline against that endpoint (e.g. the local emulator).
//! The portal's built files are served at `/` beside the API (`portal`).

mod portal;

use anyhow::Context;
use gatehouse::app::{Local, Mode, Pollers};
use gatehouse::config::Config;

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gatehouse::telemetry::init();
    let config = Config::from_env()?;
    if config.uses_development_keys() {
        tracing::warn!(
            root_key = gatehouse::config::DEV_ROOT_KEY,
            "using the development root key; set GATEHOUSE_ROOT_KEY and GATEHOUSE_SECRET_KEY for anything shared"
        );
    }
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], config.port));
    let pollers = Pollers {
        webhook_worker: config.local_webhooks,
        ..Pollers::default()
    };
    let local = Local::start_with(config, pollers).await.context("starting Gatehouse")?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    match local.mode {
        Mode::Embedded => tracing::info!(outbox = %local.services.config.outbox_dir.display(), "embedded mode"),
        Mode::Emulated => tracing::info!(endpoint = ?local.services.config.aws_endpoint_url, "AWS endpoint mode"),
    }
    tracing::info!("Gatehouse listening on http://{}", listener.local_addr()?);
    let mut router = local.services.router();
    // The portal's built files, from PORTAL_DIR (portal/dist under the working directory).
    let portal_dir = std::env::var_os("PORTAL_DIR").map_or_else(|| "portal/dist".into(), std::path::PathBuf::from);
    match portal::routes(&portal_dir) {
        Some(portal) => {
            router = router.merge(portal);
            tracing::info!(dir = %portal_dir.display(), "serving the portal at /");
        }
        None => tracing::info!(
            dir = %portal_dir.display(),
            "no portal built there (npm --prefix portal ci && npm --prefix portal run build); serving the API alone"
        ),
    }
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
