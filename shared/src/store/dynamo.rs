//! The store on one DynamoDB table (`PK`/`SK` strings, stream NEW_AND_OLD_IMAGES, TTL on `expires_at`).
//! A single write goes out as PutItem / DeleteItem (half the cost of a one-item transaction); more
//! than one as TransactWriteItems.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

use super::{
    check_sk_cursor, gsi1_cursor, parse_gsi1_cursor, sk_cursor, validate_transaction, Condition, Key, Page, Record,
    Store, StoreError, Write, EXPIRES_AT, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK, VERSION,
};

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Held around each multi-item transaction when set: see [`DynamoStore::one_transaction_at_a_time`].
    transactions: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            transactions: None,
        }
    }

    /// Runs this process's multi-item transactions one at a time, their conditions checked before
    /// they are sent, and no other write beside one. For the local emulator only: moto does not
    /// isolate `TransactWriteItems` from other writes to the table, and a cancelled one's writes are
    /// applied and rolled back while its stream may already have handed them out; DynamoDB runs each
    /// atomically and emits nothing for a cancelled one.
    pub fn one_transaction_at_a_time(mut self) -> Self {
        self.transactions = Some(std::sync::Arc::new(tokio::sync::Mutex::new(())));
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

fn to_item(record: &Record) -> Result<Item, StoreError> {
    serde_dynamo::to_item(record).map_err(|e| StoreError::Invalid(format!("record does not map to an item: {e}")))
}

fn from_item(item: Item) -> Result<Record, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Invalid(format!("item does not map to a record: {e}")))
}

fn key_item(key: &Key) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

/// `pk = :pk`, with `begins_with` on the sort key unless the prefix is empty (DynamoDB refuses an
/// empty key value).
fn key_condition(pk: &str, sk: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("{pk} = :pk")
    } else {
        format!("{pk} = :pk AND begins_with({sk}, :prefix)")
    }
}

fn key_values(pk: &str, prefix: &str) -> Item {
    let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(pk.into()))]);
    if !prefix.is_empty() {
        values.insert(":prefix".to_string(), AttributeValue::S(prefix.into()));
    }
    values
}

/// A condition as DynamoDB's expression, names and values.
struct Expr {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
}

/// Sets a write's condition (expression, names, values) on an SDK builder: the transaction items and
/// the single-write requests share these setters but no trait.
macro_rules! with_condition {
    ($builder:expr, $condition:expr) => {{
        let e = expr($condition);
        $builder
            .set_condition_expression(e.expression)
            .set_expression_attribute_names(e.names)
            .set_expression_attribute_values(e.values)
    }};
}

/// Sets an update's expression, its condition and both's names and values on an SDK builder (a
/// transaction item or an `UpdateItem` request), as [`with_condition`] does for the others.
macro_rules! with_update {
    ($builder:expr, $set:expr, $add:expr, $condition:expr) => {{
        let e = update_expr($set, $add, $condition)?;
        $builder
            .set_update_expression(e.expression)
            .set_condition_expression(expr($condition).expression)
            .set_expression_attribute_names(e.names)
            .set_expression_attribute_values(e.values)
    }};
}

/// A transaction item the SDK would not build (a missing table name or key).
fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn expr(condition: &Condition) -> Expr {
    let plain = |e: &str| Expr {
        expression: Some(e.to_string()),
        names: None,
        values: None,
    };
    match condition {
        Condition::None => Expr {
            expression: None,
            names: None,
            values: None,
        },
        Condition::NotExists => plain("attribute_not_exists(PK)"),
        Condition::Exists => plain("attribute_exists(PK)"),
        Condition::Version(v) => Expr {
            expression: Some("#version = :version".into()),
            names: Some(HashMap::from([("#version".to_string(), VERSION.to_string())])),
            values: Some(HashMap::from([(
                ":version".to_string(),
                AttributeValue::N(v.to_string()),
            )])),
        },
        Condition::AtMost { attr, max } => Expr {
            expression: Some("attribute_not_exists(#atmost) OR #atmost <= :atmost".into()),
            names: Some(HashMap::from([("#atmost".to_string(), attr.to_string())])),
            values: Some(HashMap::from([(
                ":atmost".to_string(),
                AttributeValue::N(max.to_string()),
            )])),
        },
    }
}

/// An update's `SET` and `ADD` expression, with its condition's names and values merged in.
fn update_expr(set: &Record, add: &[(&'static str, i64)], condition: &Condition) -> Result<Expr, StoreError> {
    let condition = expr(condition);
    let mut names = condition.names.unwrap_or_default();
    let mut values = condition.values.unwrap_or_default();
    let mut sets = Vec::new();
    for (i, (name, value)) in set.iter().enumerate() {
        names.insert(format!("#s{i}"), name.clone());
        let value = serde_dynamo::to_attribute_value(value)
            .map_err(|e| StoreError::Invalid(format!("value does not map to an attribute: {e}")))?;
        values.insert(format!(":s{i}"), value);
        sets.push(format!("#s{i} = :s{i}"));
    }
    let mut adds = Vec::new();
    for (i, (name, amount)) in add.iter().enumerate() {
        names.insert(format!("#a{i}"), name.to_string());
        values.insert(format!(":a{i}"), AttributeValue::N(amount.to_string()));
        adds.push(format!("#a{i} :a{i}"));
    }
    let mut expression = Vec::new();
    if !sets.is_empty() {
        expression.push(format!("SET {}", sets.join(", ")));
    }
    if !adds.is_empty() {
        expression.push(format!("ADD {}", adds.join(", ")));
    }
    if expression.is_empty() {
        return Err(StoreError::Invalid("an update changes at least one attribute".into()));
    }
    Ok(Expr {
        // The update expression travels here; the condition's own expression is kept aside.
        expression: Some(expression.join(" ")),
        names: Some(names),
        values: Some(values),
    })
}

/// The index of the write whose condition failed, from a cancelled transaction's reasons.
fn failed_index(err: &TransactWriteItemsError) -> Option<Option<usize>> {
    let TransactWriteItemsError::TransactionCanceledException(e) = err else {
        return None;
    };
    let reasons = e.cancellation_reasons();
    let index = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed"));
    // A cancellation with no condition failure (a conflict with another transaction) is transient.
    if index.is_none() && !reasons.is_empty() {
        return None;
    }
    Some(index)
}

/// One page of a partition in sort-key order, strictly after `after` in that order.
struct Ordered<'a> {
    pk: &'a str,
    after: Option<&'a str>,
    newest_first: bool,
    limit: usize,
}

impl DynamoStore {
    /// One item, read strongly (`consistent`) or eventually consistently (half the read units).
    async fn get_item(&self, key: &Key, consistent: bool) -> Result<Option<Record>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item.map(from_item).transpose()
    }

    /// [`Ordered`] from the table (`index` none) or an index, whose key attributes are `attrs`.
    async fn query_ordered(
        &self,
        index: Option<&str>,
        (pk_attr, sk_attr): (&str, &str),
        o: Ordered<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(o.pk.into()))]);
        let condition = match o.after {
            None => format!("{pk_attr} = :pk"),
            Some(after) => {
                values.insert(":after".to_string(), AttributeValue::S(after.into()));
                let op = if o.newest_first { "<" } else { ">" };
                format!("{pk_attr} = :pk AND {sk_attr} {op} :after")
            }
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!o.newest_first)
            .limit(i32::try_from(o.limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        self.get_item(key, true).await
    }

    async fn get_eventually(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        self.get_item(key, false).await
    }

    async fn query(&self, pk: &str, sk_prefix: &str, after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        check_sk_cursor(after, sk_prefix)?;
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(key_condition(PK, SK, sk_prefix))
            .set_expression_attribute_values(Some(key_values(pk, sk_prefix)))
            .consistent_read(true)
            // One more than asked, so "is there a next page" is known without an empty last page.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(after) = after {
            request = request.set_exclusive_start_key(Some(key_item(&Key::new(pk, after))));
        }
        let out = request.send().await.map_err(StoreError::unavailable)?;
        let records = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(records, limit, sk_cursor))
    }

    async fn query_gsi1(
        &self,
        pk: &str,
        sk_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TableSpec::GSI1)
            .key_condition_expression(key_condition(GSI1PK, GSI1SK, sk_prefix))
            .set_expression_attribute_values(Some(key_values(pk, sk_prefix)))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(after) = after {
            let (gsi_sk, table_pk, table_sk) = parse_gsi1_cursor(after, sk_prefix)?;
            let mut start = key_item(&Key::new(table_pk, table_sk));
            start.insert(GSI1PK.into(), AttributeValue::S(pk.into()));
            start.insert(GSI1SK.into(), AttributeValue::S(gsi_sk));
            request = request.set_exclusive_start_key(Some(start));
        }
        let out = request.send().await.map_err(StoreError::unavailable)?;
        let records = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(records, limit, gsi1_cursor))
    }

    async fn query_gsi2(
        &self,
        pk: &str,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let order = Ordered {
            pk,
            after,
            newest_first,
            limit,
        };
        self.query_ordered(Some(TableSpec::GSI2), (GSI2PK, GSI2SK), order).await
    }

    async fn query_sorted(
        &self,
        pk: &str,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let order = Ordered {
            pk,
            after,
            newest_first,
            limit,
        };
        self.query_ordered(None, (PK, SK), order).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        if writes.len() == 1 {
            // On the emulator a single write waits for a running transaction too: moto copies the
            // table while it runs one, and a write landing mid-copy fails it with a 500.
            let _after_transactions = match &self.transactions {
                Some(lock) => Some(lock.lock().await),
                None => None,
            };
            return self.write_one(writes.into_iter().next().expect("one write")).await;
        }
        let _one_at_a_time = match &self.transactions {
            Some(lock) => {
                let guard = lock.lock().await;
                // The emulator applies a cancelled transaction's other writes before rolling them
                // back, and its stream can hand them out meanwhile; so its conditions are checked
                // here first (exact, since this process's transactions run one at a time).
                for (index, w) in writes.iter().enumerate() {
                    let (key, condition) = w.condition().expect("validated");
                    if *condition == Condition::None {
                        continue;
                    }
                    let current = self.get(&key).await?;
                    if !super::holds(condition, current.as_ref()) {
                        return Err(StoreError::ConditionFailed { index: Some(index) });
                    }
                }
                Some(guard)
            }
            None => None,
        };
        let mut items = Vec::with_capacity(writes.len());
        for w in &writes {
            let item = match w {
                Write::Put { record, condition } => {
                    let put = Put::builder().table_name(&self.table).set_item(Some(to_item(record)?));
                    let put = with_condition!(put, condition).build().map_err(invalid)?;
                    TransactWriteItem::builder().put(put).build()
                }
                Write::Check { key, condition } => {
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_item(key)));
                    let check = with_condition!(check, condition).build().map_err(invalid)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
                Write::Delete { key, condition } => {
                    let delete = Delete::builder().table_name(&self.table).set_key(Some(key_item(key)));
                    let delete = with_condition!(delete, condition).build().map_err(invalid)?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                Write::Update {
                    key,
                    set,
                    add,
                    condition,
                } => {
                    let update = Update::builder().table_name(&self.table).set_key(Some(key_item(key)));
                    let update = with_update!(update, set, add, condition).build().map_err(invalid)?;
                    TransactWriteItem::builder().update(update).build()
                }
            };
            items.push(item);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match failed_index(e.err()) {
                Some(index) => Err(StoreError::ConditionFailed { index }),
                None => Err(StoreError::unavailable(e.into_err())),
            },
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}

impl DynamoStore {
    async fn write_one(&self, write: Write) -> Result<(), StoreError> {
        match write {
            Write::Put { record, condition } => {
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&record)?));
                with_condition!(put, &condition)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(single_write_error)
            }
            Write::Delete { key, condition } => {
                let delete = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_item(&key)));
                with_condition!(delete, &condition)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(single_write_error)
            }
            Write::Update {
                key,
                set,
                add,
                condition,
            } => {
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_item(&key)));
                with_update!(update, &set, &add, &condition)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(single_write_error)
            }
            Write::Check { .. } => Err(StoreError::Invalid("a check alone writes nothing".into())),
        }
    }
}

fn single_write_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException") {
        StoreError::ConditionFailed { index: Some(0) }
    } else {
        StoreError::unavailable(e)
    }
}

/// The table's shape, for creating it where nothing else does (the local emulator, tests). In AWS
/// `template.yaml` creates the same table.
pub struct TableSpec;

impl TableSpec {
    pub const GSI1: &'static str = "GSI1";
    pub const GSI2: &'static str = "GSI2";

    /// Creates the table (with its stream, GSI1, GSI2 and TTL) unless it exists; returns its stream ARN.
    pub async fn ensure(client: &Client, table: &str) -> anyhow::Result<String> {
        use anyhow::Context;
        let existing = client.describe_table().table_name(table).send().await;
        let description = match existing {
            Ok(out) => out.table.context("DescribeTable returned no table")?,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                let attr = |name: &str| {
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .expect("attribute definition has name and type")
                };
                let key = |name: &str, kind: KeyType| {
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(kind)
                        .build()
                        .expect("key has name and type")
                };
                let out = client
                    .create_table()
                    .table_name(table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .set_attribute_definitions(Some(vec![
                        attr(PK),
                        attr(SK),
                        attr(GSI1PK),
                        attr(GSI1SK),
                        attr(GSI2PK),
                        attr(GSI2SK),
                    ]))
                    .set_key_schema(Some(vec![key(PK, KeyType::Hash), key(SK, KeyType::Range)]))
                    .set_global_secondary_indexes(Some(
                        [(Self::GSI1, GSI1PK, GSI1SK), (Self::GSI2, GSI2PK, GSI2SK)]
                            .into_iter()
                            .map(|(name, pk, sk)| {
                                GlobalSecondaryIndex::builder()
                                    .index_name(name)
                                    .key_schema(key(pk, KeyType::Hash))
                                    .key_schema(key(sk, KeyType::Range))
                                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                                    .build()
                                    .expect("GSI has name, keys and projection")
                            })
                            .collect(),
                    ))
                    .stream_specification(
                        StreamSpecification::builder()
                            .stream_enabled(true)
                            .stream_view_type(StreamViewType::NewAndOldImages)
                            .build()
                            .expect("stream spec has enabled"),
                    )
                    .send()
                    .await
                    .with_context(|| format!("creating table {table}"))?;
                client
                    .update_time_to_live()
                    .table_name(table)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .enabled(true)
                            .attribute_name(EXPIRES_AT)
                            .build()
                            .expect("TTL spec has name and flag"),
                    )
                    .send()
                    .await
                    .with_context(|| format!("enabling TTL on {table}"))?;
                out.table_description.context("CreateTable returned no description")?
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("describing table {table}"))),
        };
        description
            .latest_stream_arn
            .context("the table has no stream; enable NEW_AND_OLD_IMAGES")
    }
}
