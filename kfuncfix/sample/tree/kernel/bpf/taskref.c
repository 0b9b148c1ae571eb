// SPDX-License-Identifier: GPL-2.0-only
/*
 * Task references: a counted handle on a task that a BPF program may keep,
 * in a map or on its stack, after the task itself has exited.
 *
 * Part of the kfuncfix sample tree: invented, laid out like a kernel file
 * that only exists to provide kfuncs.
 */
#include <linux/bpf.h>
#include <linux/bpf_mem_alloc.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/wait.h>

/**
 * struct bpf_taskref - a counted reference to a task
 * @task:	the task; its task_struct stays allocated while @usage is not zero
 * @usage:	references held by programs and maps
 * @hits:	number of bpf_taskref_task() calls, with CONFIG_TASKREF_STATS
 */
struct bpf_taskref {
	struct task_struct *task;
	refcount_t usage;
#ifdef CONFIG_TASKREF_STATS
	atomic64_t hits;
#endif
};

static struct bpf_mem_alloc taskref_ma;

__diag_push();
__diag_ignore_all("-Wmissing-prototypes",
		  "Global functions as their definitions will be in vmlinux BTF");

/**
 * bpf_taskref_create() - Create a reference to a task.
 * @task: The task to refer to, as a trusted pointer.
 *
 * Return: a new reference that the program owns, or NULL when memory is
 * short.  The program must pass it to bpf_taskref_release() or store it in
 * a map before it exits.
 */
__used noinline
struct bpf_taskref *bpf_taskref_create(struct task_struct *task)
{
	struct bpf_taskref *ref;

	ref = bpf_mem_alloc(&taskref_ma, sizeof(*ref));
	if (!ref)
		return NULL;

	ref->task = get_task_struct(task);
	refcount_set(&ref->usage, 1);
#ifdef CONFIG_TASKREF_STATS
	atomic64_set(&ref->hits, 0);
#endif
	return ref;
}

/**
 * bpf_taskref_acquire() - Take one more reference.
 * @ref: A reference the program owns.
 *
 * Return: @ref again; the program now owns one more reference to it.
 */
noinline struct bpf_taskref *bpf_taskref_acquire(struct bpf_taskref *ref)
{
	refcount_inc(&ref->usage);
	return ref;
}

/**
 * bpf_taskref_release() - Drop a reference.
 * @ref: A reference the program owns; it may be freed by this call.
 */
void bpf_taskref_release(struct bpf_taskref *ref)
{
	if (!refcount_dec_and_test(&ref->usage))
		return;

	put_task_struct(ref->task);
	migrate_disable();
	bpf_mem_free(&taskref_ma, ref);
	migrate_enable();
}
EXPORT_SYMBOL_GPL(bpf_taskref_release);

/**
 * bpf_taskref_task() - Get the task behind a reference.
 * @ref: A reference the program owns.
 *
 * Return: the task, or NULL if it has exited.  The task_struct may be read
 * for as long as @ref is held.
 */
struct task_struct *
bpf_taskref_task(struct bpf_taskref *ref)
{
	struct task_struct *task = ref->task;

#ifdef CONFIG_TASKREF_STATS
	atomic64_inc(&ref->hits);
#endif
	if (READ_ONCE(task->exit_state))
		return NULL;

	return task;
}

#ifdef CONFIG_TASKREF_STATS
/**
 * bpf_taskref_hits() - Count the lookups made through a reference.
 * @ref: A reference the program owns.
 *
 * Return: how many times bpf_taskref_task() was called on @ref.
 */
noinline u64 bpf_taskref_hits(struct bpf_taskref *ref)
{
	return atomic64_read(&ref->hits);
}
#else
noinline u64 bpf_taskref_hits(struct bpf_taskref *ref)
{
	return 0;
}
#endif /* CONFIG_TASKREF_STATS */

/**
 * bpf_taskref_wait_exit() - Sleep until the task behind a reference exits.
 * @ref:	A reference the program owns.
 * @timeout_ms:	How long to wait, in milliseconds.
 *
 * Return: 0 once the task has exited, -ETIMEDOUT if it is still running
 * after @timeout_ms, or -EINTR if the caller got a signal.
 */
int bpf_taskref_wait_exit(struct bpf_taskref *ref,
			  u32 timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	while (!READ_ONCE(ref->task->exit_state)) {
		if (signal_pending(current))
			return -EINTR;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		schedule_timeout_interruptible(1);
	}

	return 0;
}

/*
 * Destructor for references stored in maps: the map code calls it when it
 * frees a map value that still holds one.
 */
__used noinline void bpf_taskref_dtor(void *ref)
{
	bpf_taskref_release(ref);
}

__diag_pop();

BTF_SET8_START(taskref_kfunc_ids)
BTF_ID_FLAGS(func, bpf_taskref_create, KF_ACQUIRE | KF_RET_NULL | KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_taskref_acquire, KF_ACQUIRE | KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_taskref_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_taskref_task, KF_RET_NULL | KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_taskref_hits, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_taskref_wait_exit, KF_SLEEPABLE | KF_TRUSTED_ARGS)
BTF_SET8_END(taskref_kfunc_ids)

static const struct btf_kfunc_id_set taskref_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &taskref_kfunc_ids,
};

BTF_ID_LIST(taskref_dtor_ids)
BTF_ID(struct, bpf_taskref)
BTF_ID(func, bpf_taskref_dtor)

static int __init taskref_kfunc_init(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{
			.btf_id		= taskref_dtor_ids[0],
			.kfunc_btf_id	= taskref_dtor_ids[1],
		},
	};
	int err;

	err = bpf_mem_alloc_init(&taskref_ma, sizeof(struct bpf_taskref), false);
	if (err)
		return err;

	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &taskref_kfunc_set);
	if (!err)
		err = register_btf_kfunc_id_set(BPF_PROG_TYPE_LSM, &taskref_kfunc_set);
	if (!err)
		err = register_btf_kfunc_id_set(BPF_PROG_TYPE_STRUCT_OPS, &taskref_kfunc_set);
	if (!err)
		err = register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);

	return err;
}

late_initcall(taskref_kfunc_init);
