//! One integration binary (one link of the heavy SDK stack) holding every suite.

mod abuse;
mod accounts;
mod admins;
mod audit;
mod catalog;
mod contracts;
mod delivery;
mod digests;
mod email_apis;
mod end_to_end;
mod endpoints;
mod faults;
mod input;
mod keys;
mod languages;
mod notifications;
mod openapi;
mod pagination;
mod partitions;
mod payloads;
mod pollers;
mod roles;
mod smtp;
mod ssrf;
mod template;
mod unsubscribe;
