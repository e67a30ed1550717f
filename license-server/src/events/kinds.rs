//! The kinds of event, each with its wire name, the schema of its `data`, and what it means.
//! One list: the API's filter, the OpenAPI document's `webhooks` and docs/api.md all come from
//! it.

macro_rules! kinds {
    ($( $variant:ident = ($wire:literal, $data:literal, $doc:literal); )*) => {
        /// A kind of event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $(
                #[doc = $doc]
                $variant,
            )*
        }

        impl Kind {
            /// Every kind, in the order of the documentation.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The wire name, such as `entitlement.granted`.
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $wire),* }
            }

            /// The name of the schema of its `data` in the OpenAPI document.
            pub fn data_schema(self) -> &'static str {
                match self { $(Kind::$variant => $data),* }
            }

            /// What it means.
            pub fn description(self) -> &'static str {
                match self { $(Kind::$variant => $doc),* }
            }

            /// The kind with this wire name.
            pub fn parse(name: &str) -> Option<Kind> {
                match name { $($wire => Some(Kind::$variant),)* _ => None }
            }
        }
    };
}

kinds! {
    TitleCreated = ("title.created", "TitleEventData", "A title was created.");
    TitleUpdated = ("title.updated", "TitleEventData", "A title's details changed (its name, price, checkout, cover…).");
    TitleDeleted = ("title.deleted", "TitleEventData", "A title nobody held was deleted.");
    TrackAdded = ("track.added", "TrackEventData", "A track was uploaded; it is processing (probed and sealed by a worker).");
    TrackPublished = ("track.published", "TrackEventData", "A track was sealed and is in the title's manifest.");
    TrackFailed = ("track.failed", "TrackEventData", "A track could not be published: its `error` says why.");
    TrackDeleted = ("track.deleted", "TrackEventData", "A track was removed from its title.");
    EntitlementGranted = ("entitlement.granted", "EntitlementEventData", "A customer was granted a title (a purchase or a rental).");
    EntitlementRevoked = ("entitlement.revoked", "EntitlementEventData", "An entitlement was revoked (by the store, or by a refund); its licenses are revoked with it.");
    DeviceRegistered = ("device.registered", "DeviceEventData", "A customer registered a device.");
    DeviceRenamed = ("device.renamed", "DeviceEventData", "A customer renamed one of their devices.");
    DeviceRevoked = ("device.revoked", "DeviceEventData", "A device was revoked, by the store or by its customer (the event's `actor` says which); its licenses are revoked with it.");
    LicenseIssued = ("license.issued", "LicenseEventData", "A license was issued to a device (or issued again to the same device).");
    LicenseRenewed = ("license.renewed", "LicenseEventData", "A license was renewed: a new offline window.");
    LicenseReturned = ("license.returned", "LicenseEventData", "A device gave a license back.");
    LicenseRevoked = ("license.revoked", "LicenseEventData", "A license was revoked (by the store, or with its entitlement or device).");
    LicenseExpired = ("license.expired", "LicenseEventData", "A rental's license reached its end.");
    PaymentReceived = ("payment.received", "PaymentEventData", "A payment was received and granted its title.");
    PaymentUnmatched = ("payment.unmatched", "PaymentEventData", "A payment was received that names no customer or no title: assign it.");
    PaymentAssigned = ("payment.assigned", "PaymentEventData", "The store assigned an unmatched payment to a customer.");
    PaymentRefunded = ("payment.refunded", "PaymentEventData", "A payment was refunded in full; what it granted is revoked.");
    ApiKeyCreated = ("api_key.created", "ApiKeyEventData", "An API key was made for the store (by the command line or the console); the event never holds its secret.");
    ApiKeyRevoked = ("api_key.revoked", "ApiKeyEventData", "An API key of the store was revoked: requests with it are refused from now on.");
    StoreUpdated = ("store.updated", "StoreEventData", "The store's settings changed.");
    FeedSynced = ("feed.synced", "FeedEventData", "A feed was read and had changed: its new, changed and removed items are in hand.");
    FeedFailed = ("feed.failed", "FeedEventData", "A feed could not be read (unreachable, too large, not RSS, locked by its owner…): its `last_error` says why. It is tried again later.");
    FeedItemPublished = ("feed_item.published", "FeedItemEventData", "An item of a feed was imported: its title is on sale (or its track is in the feed's serial title).");
    FeedItemFailed = ("feed_item.failed", "FeedItemEventData", "An item of a feed cannot be imported: its `error` says why. The rest of the feed goes on.");
    WebhookEndpointCreated = ("webhook_endpoint.created", "WebhookEndpointEventData", "A webhook endpoint was added (through the API or the console); the event never holds its secret.");
    WebhookEndpointDisabled = ("webhook_endpoint.disabled", "WebhookEndpointEventData", "A webhook endpoint was disabled: it answered 410 Gone, or failed every delivery for days.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
            assert!(seen.insert(kind.as_str()), "{}", kind.as_str());
        }
        assert_eq!(Kind::parse("entitlement.granted!"), None);
    }
}
