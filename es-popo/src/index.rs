//! The per-aggregate index: versions to log positions, in a sorted vector (events usually
//! arrive in version order, so inserting is a push), keyed by aggregate id with a cheap hasher
//! (ids are random UUIDs, so their bytes are already well mixed).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use es_core::Uuid;

/// Folds the bytes of a UUID with a multiply-rotate step (FxHash).
#[derive(Default)]
pub(crate) struct UuidHasher(u64);

impl Hasher for UuidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write(&n.to_le_bytes());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Aggregate id to its versions.
pub(crate) type Index = HashMap<Uuid, Versions, BuildHasherDefault<UuidHasher>>;

/// One aggregate's versions and their positions in the log, sorted by version.
#[derive(Debug, Default)]
pub(crate) struct Versions(Vec<(u64, usize)>);

impl Versions {
    fn find(&self, version: u64) -> Result<usize, usize> {
        match self.0.last() {
            Some(&(last, _)) if last < version => Err(self.0.len()),
            _ => self.0.binary_search_by_key(&version, |e| e.0),
        }
    }

    /// Adds `version` at log position `position`; false if it is already there.
    pub(crate) fn insert(&mut self, version: u64, position: usize) -> bool {
        match self.find(version) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, (version, position));
                true
            }
        }
    }

    pub(crate) fn remove(&mut self, version: u64) {
        if let Ok(at) = self.find(version) {
            self.0.remove(at);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Log positions of the versions `> gt` and `<= lte`, in version order.
    pub(crate) fn range(
        &self,
        gt: Option<u64>,
        lte: Option<u64>,
    ) -> impl DoubleEndedIterator<Item = usize> + '_ {
        let start = gt.map_or(0, |gt| self.0.partition_point(|e| e.0 <= gt));
        let end = lte.map_or(self.0.len(), |lte| self.0.partition_point(|e| e.0 <= lte));
        self.0[start..end.max(start)].iter().map(|e| e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_out_of_order_and_ranges() {
        let mut v = Versions::default();
        for (version, pos) in [(3, 0), (1, 1), (2, 2), (5, 3)] {
            assert!(v.insert(version, pos));
        }
        assert!(!v.insert(2, 9), "duplicate");
        assert_eq!(v.range(None, None).collect::<Vec<_>>(), [1, 2, 0, 3]);
        assert_eq!(v.range(Some(1), Some(3)).collect::<Vec<_>>(), [2, 0]);
        assert_eq!(v.range(Some(5), None).count(), 0);
        assert_eq!(v.range(Some(4), Some(2)).count(), 0);
        v.remove(3);
        assert_eq!(v.range(None, None).collect::<Vec<_>>(), [1, 2, 3]);
    }
}
