//! Triangulation of pattern regions into simplicial cones (`cvxcnn::arch::shared::simplicial`): for filter
//! sizes 2–4 every random direction lies in exactly one cone, and that cone's region is the
//! region of the direction's own sign pattern; every cone's rays lie in its region's closure.

mod common;

use common::*;
use cvxcnn::arch::shared::simplicial::triangulate_regions;
use cvxcnn::patches::{PatchSpec, Patches};
use cvxcnn::patterns::{enumerate_exact, Hyperplanes};

fn inverse(b: &[f64], h: usize) -> Vec<f64> {
    let m = faer::Mat::<f64>::from_fn(h, h, |i, j| b[i * h + j]);
    let inv = m.svd().unwrap().pseudoinverse();
    (0..h * h).map(|ij| inv[(ij / h, ij % h)]).collect()
}

#[test]
fn cones_tile_every_region_exactly() {
    for (h, n, len, seed) in [(2, 4, 5, 1), (3, 4, 5, 2), (3, 6, 4, 3), (4, 3, 6, 4)] {
        let ds = gaussian_1d(n, len, seed);
        let p = Patches::extract(&ds.x, n, &ds.shape, &PatchSpec::one_d(h, 1, 0, false)).unwrap();
        let hp = Hyperplanes::from_patches(&p);
        let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
        let regions = triangulate_regions(&hp, &set, 1 << 30).unwrap();
        assert_eq!(regions.len(), set.len());
        let mut cones = Vec::new();
        for rc in &regions {
            assert!(
                !rc.cones.is_empty(),
                "h={h}: region {} has no cone",
                rc.region
            );
            for b in &rc.cones {
                // Rays in the closure of the region: n_gᵀ b ≥ 0 on the region's side of g.
                for col in 0..h {
                    let ray: Vec<f64> = (0..h).map(|i| b[i * h + col]).collect();
                    for g in 0..hp.len() {
                        let d: f64 = hp.normal(g).iter().zip(&ray).map(|(a, b)| a * b).sum();
                        let side = set.bit(rc.region, g);
                        assert!(
                            if side { d >= -1e-9 } else { d <= 1e-9 },
                            "h={h}: ray outside its region"
                        );
                    }
                }
                cones.push((rc.region, inverse(b, h)));
            }
        }
        let dirs = gaussian(h * 3000, seed + 100);
        let mut bits = vec![0u64; set.words()];
        for d in dirs.chunks_exact(h) {
            let inside: Vec<usize> = cones
                .iter()
                .filter(|(_, g)| {
                    g.chunks_exact(h)
                        .all(|row| row.iter().zip(d).map(|(a, b)| a * b).sum::<f64>() > 0.0)
                })
                .map(|(r, _)| *r)
                .collect();
            assert_eq!(
                inside.len(),
                1,
                "h={h}: a direction in {} cones",
                inside.len()
            );
            hp.signs_of(d, &mut bits);
            assert_eq!(set.pattern(inside[0]), &bits[..], "h={h}: wrong region");
        }
        eprintln!(
            "h={h}: {} regions, {} simplicial cones",
            set.len(),
            cones.len()
        );
    }
}

/// An arrangement that does not span `R^h` has no pointed regions: a clear error.
#[test]
fn rank_deficient_arrangements_are_refused() {
    let mut p = Patches {
        n: 3,
        k: 1,
        h: 3,
        out_dims: (1, 1),
        data: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
    };
    let hp = Hyperplanes::from_patches(&p);
    let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    let err = triangulate_regions(&hp, &set, 1 << 30).unwrap_err();
    assert!(err.to_string().contains("row space"), "{err}");
    p.data[2] = 1.0;
    let hp = Hyperplanes::from_patches(&p);
    let set = enumerate_exact(&p, &hp, 1 << 40, &mut |_, _| {}).unwrap();
    assert!(triangulate_regions(&hp, &set, 1 << 30).is_ok());
}
