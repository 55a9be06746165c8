//! Power models: their curves, SPECpower tables interpolated, and parameters checked.

use enos_energy::model::{ModelError, PowerModel};

/// SPECpower's HP ProLiant ML110 G5 (Xeon 3075), watts at 0, 10, …, 100 % load.
const ML110_G5: [f64; 11] = [
    93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
];

#[test]
fn linear_and_fan_models_meet_at_idle_and_full_load() {
    let linear = PowerModel::Linear {
        idle_w: 100.0,
        max_w: 200.0,
    };
    let fan = PowerModel::Fan {
        idle_w: 100.0,
        max_w: 200.0,
        r: 1.4,
    };
    for model in [&linear, &fan] {
        model.check().unwrap();
        assert_eq!(model.watts(0.0), 100.0);
        assert!((model.watts(1.0) - 200.0).abs() < 1e-9);
        // Clamped outside [0, 1].
        assert_eq!(model.watts(-0.5), 100.0);
        assert!((model.watts(3.0) - 200.0).abs() < 1e-9);
    }
    assert_eq!(linear.watts(0.25), 125.0);
    // Fan's fit rises faster at low load: 2·0.25 − 0.25^1.4 = 0.3564…
    assert!(
        (fan.watts(0.25) - 135.64).abs() < 0.01,
        "{}",
        fan.watts(0.25)
    );
    assert_eq!(linear.joules(0.5, 10.0), 1500.0);
}

#[test]
fn a_specpower_table_is_interpolated_between_its_points() {
    let table = PowerModel::Table { watts: ML110_G5 };
    table.check().unwrap();
    assert_eq!(table.watts(0.0), 93.7);
    assert_eq!(table.watts(1.0), 135.0);
    assert_eq!(table.watts(0.4), 110.0);
    assert!((table.watts(0.45) - 113.0).abs() < 1e-9);
    assert!((table.watts(0.95) - 134.0).abs() < 1e-9);
}

#[test]
fn bad_parameters_are_refused_with_what_is_wrong() {
    let below = PowerModel::Linear {
        idle_w: 120.0,
        max_w: 100.0,
    };
    assert_eq!(
        below.check(),
        Err(ModelError::MaxBelowIdle {
            idle: 120.0,
            max: 100.0
        })
    );
    let exponent = PowerModel::Fan {
        idle_w: 1.0,
        max_w: 2.0,
        r: 3.0,
    };
    assert!(
        exponent
            .check()
            .unwrap_err()
            .to_string()
            .contains("between 1 and 2")
    );
    let negative = PowerModel::Linear {
        idle_w: -1.0,
        max_w: 2.0,
    };
    assert!(negative.check().unwrap_err().to_string().contains("idle_w"));
    let mut watts = ML110_G5;
    watts[5] = 90.0;
    let error = PowerModel::Table { watts }.check().unwrap_err().to_string();
    assert!(error.contains("90 W at 50 %"), "{error}");
}
