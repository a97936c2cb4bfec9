//! Fargate's task sizes: the CPU and memory pairs it runs, from the ECS
//! developer guide's table, in one place (`ecs-deploy --plan`'s fit check,
//! taskdef-render's check of a Fargate definition's rendered size).

/// Each CPU value (units) with its memory values (MiB): from, to, step.
const SIZES: [(u32, u32, u32, u32); 7] = [
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Whether Fargate runs a task of `cpu` units and `memory` MiB; if not,
/// what would: the memory values for that CPU, or the CPU values.
pub fn check(cpu: u32, memory: u32) -> Result<(), String> {
    let Some(&(_, from, to, step)) = SIZES.iter().find(|(c, ..)| *c == cpu) else {
        let cpus: Vec<String> = SIZES.iter().map(|(c, ..)| c.to_string()).collect();
        return Err(format!(
            "Fargate has no task CPU {cpu}: it takes {}",
            cpus.join(", ")
        ));
    };
    // 256 CPU: 512, 1024, 2048 (the table's one uneven row).
    let fits = if cpu == 256 {
        [512, 1024, 2048].contains(&memory)
    } else {
        memory >= from && memory <= to && (memory - from).is_multiple_of(step)
    };
    if fits {
        return Ok(());
    }
    let range = if cpu == 256 {
        "512, 1024 or 2048".to_string()
    } else {
        format!("{from} to {to} in steps of {step}")
    };
    Err(format!(
        "Fargate runs no task of CPU {cpu} with memory {memory}: with CPU {cpu}, memory is {range} (MiB)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_s_pairs() {
        assert!(check(256, 512).is_ok());
        assert!(check(512, 1024).is_ok());
        assert!(check(1024, 3072).is_ok());
        assert!(check(16384, 122880).is_ok());
        assert!(check(256, 4096).unwrap_err().contains("512, 1024 or 2048"));
        assert!(
            check(512, 512)
                .unwrap_err()
                .contains("1024 to 4096 in steps of 1024")
        );
        assert!(check(8192, 20000).is_err());
        assert!(check(300, 1024).unwrap_err().contains("no task CPU 300"));
    }
}
