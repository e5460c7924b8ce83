//! Local fake servers of the new-media platforms (WeChat official account,
//! Weibo) that reproduce their documented responses, for the connector
//! tests. (Filled in by the connector work of issue 9.)
