//! The smallest Lambda function: the baseline the `lambda_init` benchmark compares each Gatehouse
//! function's start-up with. Built with the same profile as the functions.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
