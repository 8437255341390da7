//! A de-duplicated set of sign patterns, one bit per distinct hyperplane.

use std::collections::HashSet;

/// Patterns as bit rows: bit `g` of pattern `i` is `1` iff `n_gᵀu > 0` on that region.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    groups: usize,
    words: usize,
    bits: Vec<u64>,
    seen: HashSet<Vec<u64>>,
}

impl PatternSet {
    /// An empty set over `groups` hyperplanes.
    pub fn new(groups: usize) -> Self {
        PatternSet {
            groups,
            words: groups.div_ceil(64).max(1),
            bits: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Number of words of one pattern.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Number of hyperplanes.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.bits.len() / self.words
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Pattern `i` as words.
    pub fn pattern(&self, i: usize) -> &[u64] {
        &self.bits[i * self.words..(i + 1) * self.words]
    }

    /// Bit `g` of pattern `i`.
    pub fn bit(&self, i: usize, g: usize) -> bool {
        get_bit(self.pattern(i), g)
    }

    /// Adds a pattern unless already present; returns whether it was new.
    pub fn insert(&mut self, p: &[u64]) -> bool {
        debug_assert_eq!(p.len(), self.words);
        if self.seen.contains(p) {
            return false;
        }
        self.seen.insert(p.to_vec());
        self.bits.extend_from_slice(p);
        true
    }

    /// Whether the set holds pattern `p`.
    pub fn contains(&self, p: &[u64]) -> bool {
        self.seen.contains(p)
    }
}

/// Bit `g` of a word slice.
pub(crate) fn get_bit(w: &[u64], g: usize) -> bool {
    (w[g / 64] >> (g % 64)) & 1 == 1
}
