//! The lease properties catch leases granted twice, kept for ever, or freed by anyone.

use es_testkit::{lease_races, leases};

use super::flaws::Flaw;
use super::{broken, caught};

#[test]
fn leases_granted_twice_kept_for_ever_or_freed_by_others_are_caught() {
    let shared = broken(Flaw::SharedLease);
    caught(
        "leases::one_holder_renews_and_releases / SharedLease",
        || leases::one_holder_renews_and_releases(&shared),
    );
    caught("leases::racing_acquirers_one_winner / SharedLease", || {
        leases::racing_acquirers_one_winner(&shared)
    });
    caught(
        "leases::an_expired_lease_is_free_for_another / ImmortalLease",
        || leases::an_expired_lease_is_free_for_another(&broken(Flaw::ImmortalLease)),
    );
    caught(
        "leases::one_holder_renews_and_releases / AnyoneReleases",
        || leases::one_holder_renews_and_releases(&broken(Flaw::AnyoneReleases)),
    );
}

/// The check-then-act shapes an author writes when the check and the act are two round trips,
/// and listings by the wrong order, holder or prefix.
#[test]
fn check_then_act_leases_and_wrong_listings_are_caught() {
    caught(
        "lease_races::a_release_never_frees_a_lease_passed_on / ReleaseCheckThenAct",
        || {
            lease_races::a_release_never_frees_a_lease_passed_on(&broken(
                Flaw::ReleaseCheckThenAct,
            ));
        },
    );
    let acquire = broken(Flaw::AcquireCheckThenAct);
    caught(
        "lease_races::racing_acquirers_of_an_expired_lease_one_winner / AcquireCheckThenAct",
        || lease_races::racing_acquirers_of_an_expired_lease_one_winner(&acquire),
    );
    caught(
        "leases::racing_acquirers_one_winner / AcquireCheckThenAct",
        || leases::racing_acquirers_one_winner(&acquire),
    );
    for flaw in [
        Flaw::UnstableListing,
        Flaw::PrefixHolder,
        Flaw::PatternPrefix,
    ] {
        caught(
            &format!("lease_races::names_and_holders_of_every_shape / {flaw:?}"),
            || lease_races::names_and_holders_of_every_shape(&broken(flaw)),
        );
    }
}
