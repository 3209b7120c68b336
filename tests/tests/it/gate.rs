//! Keys at the gate: what a gateway, which knows only the key, can find of it. Every change of a
//! key reaches its item by hash in the same transaction.

use gatehouse::secret::token_hash;
use gatehouse::store::key_hashes;
use gatehouse_tests::*;
use serde_json::json;

async fn a_key_is_found_by_its_hash_while_it_lives(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app
        .create_org(json!({"name": "Acme", "settings": {"default_approval": "auto"}}))
        .await;
    let store = app.local.services.store.clone();
    let entry = app.catalog_entry(&org, None).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&org.id, &email).await.status(), 202);
    let (_, login) = app.log_in(&org.id, &email).await;
    let session = login["token"].as_str().unwrap();
    let requests = format!("/portal/{}/key-requests", org.id);
    let body = json!({"catalog_id": entry["id"]});

    // Issued: found by its hash alone, with its organisation, developer and policies.
    let (status, issued) = app.send("POST", &requests, session, Some(body.clone())).await;
    assert_eq!(status, 201, "{issued}");
    let hash = token_hash(issued["key"].as_str().unwrap());
    let found = key_hashes::find(store.as_ref(), &hash)
        .await
        .unwrap()
        .expect("found by hash");
    assert_eq!(found.org_id.as_str(), org.id);
    assert_eq!(found.key_id.as_str(), issued["key_details"]["id"].as_str().unwrap());
    assert_eq!(found.developer_id.as_str(), issued["developer_id"].as_str().unwrap());
    assert_eq!(json!(found.policy_ids), json!([entry["policy_id"]]));
    assert_eq!(
        key_hashes::find(store.as_ref(), &token_hash("gh_live_not_a_key"))
            .await
            .unwrap(),
        None
    );

    // A policy change reaches it; a revocation removes it.
    let key_path = format!("/keys/{}", found.key_id);
    let other = app.policy(&org, "Silver", &entry["api_id"]).await;
    let (status, _) = app
        .admin(&org, "PATCH", &key_path, Some(json!({"policy_ids": [other["id"]]})))
        .await;
    assert_eq!(status, 200);
    let changed = key_hashes::find(store.as_ref(), &hash).await.unwrap().unwrap();
    assert_eq!(json!(changed.policy_ids), json!([other["id"]]));
    let (status, _) = app.admin(&org, "DELETE", &key_path, None).await;
    assert_eq!(status, 204);
    assert_eq!(key_hashes::find(store.as_ref(), &hash).await.unwrap(), None);

    // Removing the developer removes their keys' items too.
    let (_, second) = app.send("POST", &requests, session, Some(body)).await;
    let hash = token_hash(second["key"].as_str().unwrap());
    assert!(key_hashes::find(store.as_ref(), &hash).await.unwrap().is_some());
    let developer = second["developer_id"].as_str().unwrap();
    let (status, _) = app
        .admin(&org, "DELETE", &format!("/developers/{developer}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(key_hashes::find(store.as_ref(), &hash).await.unwrap(), None);
}

on_both_backends!(
    a_key_is_found_by_its_hash_while_it_lives,
    a_key_is_found_by_its_hash_while_it_lives_embedded,
    a_key_is_found_by_its_hash_while_it_lives_on_the_emulator
);
