//! Power models: a host's power estimated from its CPU utilisation, where no meter exists.
//!
//! * [`PowerModel::Linear`]: `P(u) = P_idle + (P_max − P_idle)·u` (Fan, Weber and Barroso,
//!   ISCA 2007);
//! * [`PowerModel::Fan`]: their empirical fit `P(u) = P_idle + (P_max − P_idle)·(2u − u^r)`,
//!   `r` calibrated per platform (1.4 in the paper);
//! * [`PowerModel::Table`]: SPECpower-style, the power at 0, 10, …, 100 % load, interpolated
//!   linearly between points (as CloudSim's tables).
//!
//! Utilisation is the share of the host's CPU time busy over a period, in [0, 1]; values
//! outside are clamped. The energy over a period is the power times its length.

use serde::{Deserialize, Serialize};

/// What is wrong with a model's parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A power is negative or not a number.
    #[error("{what} must be a number of watts ≥ 0, not {value}")]
    BadPower {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// The maximum is below the idle power.
    #[error("the maximum power ({max} W) is below the idle power ({idle} W)")]
    MaxBelowIdle {
        /// Idle power.
        idle: f64,
        /// Maximum power.
        max: f64,
    },
    /// The exponent of Fan's fit is out of range.
    #[error("the exponent r must be between 1 and 2 (Fan et al. fit 1.4), not {0}")]
    BadExponent(f64),
    /// A table's powers go down as the load goes up.
    #[error("a table's powers must not decrease with the load: {0} W at {1} % after {2} W")]
    Decreasing(f64, u32, f64),
}

/// A power model, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PowerModel {
    /// Linear between idle and maximum power.
    Linear {
        /// Watts at 0 % utilisation.
        idle_w: f64,
        /// Watts at 100 %.
        max_w: f64,
    },
    /// Fan, Weber and Barroso's fit.
    Fan {
        /// Watts at 0 % utilisation.
        idle_w: f64,
        /// Watts at 100 %.
        max_w: f64,
        /// The fit's exponent.
        r: f64,
    },
    /// Watts at 0, 10, …, 100 % load.
    Table {
        /// The 11 points.
        watts: [f64; 11],
    },
}

fn check_power(what: &'static str, value: f64) -> Result<(), ModelError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ModelError::BadPower { what, value })
    }
}

impl PowerModel {
    /// Whether the parameters make sense: powers ≥ 0, the maximum not below idle, `r` in
    /// [1, 2], a table that does not decrease.
    pub fn check(&self) -> Result<(), ModelError> {
        match *self {
            PowerModel::Linear { idle_w, max_w } | PowerModel::Fan { idle_w, max_w, .. } => {
                check_power("idle_w", idle_w)?;
                check_power("max_w", max_w)?;
                if max_w < idle_w {
                    return Err(ModelError::MaxBelowIdle {
                        idle: idle_w,
                        max: max_w,
                    });
                }
                if let PowerModel::Fan { r, .. } = *self
                    && !(1.0..=2.0).contains(&r)
                {
                    return Err(ModelError::BadExponent(r));
                }
                Ok(())
            }
            PowerModel::Table { watts } => {
                for (i, w) in watts.iter().enumerate() {
                    check_power("a table's power", *w)?;
                    if i > 0 && *w < watts[i - 1] {
                        return Err(ModelError::Decreasing(*w, i as u32 * 10, watts[i - 1]));
                    }
                }
                Ok(())
            }
        }
    }

    /// The estimated power, in watts, at `utilisation` (clamped to [0, 1]).
    pub fn watts(&self, utilisation: f64) -> f64 {
        let u = if utilisation.is_nan() {
            0.0
        } else {
            utilisation.clamp(0.0, 1.0)
        };
        match *self {
            PowerModel::Linear { idle_w, max_w } => idle_w + (max_w - idle_w) * u,
            PowerModel::Fan { idle_w, max_w, r } => {
                idle_w + (max_w - idle_w) * (2.0 * u - u.powf(r))
            }
            PowerModel::Table { watts } => {
                let at = u * 10.0;
                let low = (at.floor() as usize).min(9);
                let share = at - low as f64;
                watts[low] + (watts[low + 1] - watts[low]) * share
            }
        }
    }

    /// The estimated energy, in joules, over `seconds` at `utilisation`.
    pub fn joules(&self, utilisation: f64, seconds: f64) -> f64 {
        self.watts(utilisation) * seconds.max(0.0)
    }
}
