//! Solver status, shared by all solvers.

use serde::Serialize;

/// How a solve ended. Non-convergence is a status, not an error: the point is still returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SolveStatus {
    /// Converged to the requested tolerances.
    Solved,
    /// Converged to reduced tolerances.
    AlmostSolved,
    /// Stopped at the iteration limit.
    MaxIterations,
    /// Stopped at the time limit.
    MaxTime,
    /// Stopped by an observer.
    Interrupted,
}

impl SolveStatus {
    /// Whether the solver reached (at least reduced) optimality.
    pub fn converged(self) -> bool {
        matches!(self, SolveStatus::Solved | SolveStatus::AlmostSolved)
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            SolveStatus::Solved => "solved",
            SolveStatus::AlmostSolved => "almost_solved",
            SolveStatus::MaxIterations => "max_iterations",
            SolveStatus::MaxTime => "max_time",
            SolveStatus::Interrupted => "interrupted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report names are the serialized names, and only the two optimal states converge.
    #[test]
    fn names_match_serialization() {
        let all = [
            (SolveStatus::Solved, true),
            (SolveStatus::AlmostSolved, true),
            (SolveStatus::MaxIterations, false),
            (SolveStatus::MaxTime, false),
            (SolveStatus::Interrupted, false),
        ];
        for (s, conv) in all {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
            assert_eq!(s.converged(), conv, "{s:?}");
        }
    }
}
