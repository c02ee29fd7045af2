/** A FIFO with O(1) push, shift and removal of any entry (a queued call that times out or is aborted). */

/** A queued entry; keep it to remove the entry later. */
export interface QueueNode<T> {
  readonly value: T
  prev: QueueNode<T> | null
  next: QueueNode<T> | null
  queued: boolean
}

/**
 * Doubly linked FIFO.
 *
 * @example
 * ```ts
 * const q = new Queue<string>(); const n = q.push("a"); q.push("b"); q.remove(n); q.shift() // "b"
 * ```
 */
export class Queue<T> {
  #head: QueueNode<T> | null = null
  #tail: QueueNode<T> | null = null
  #length = 0

  get length(): number {
    return this.#length
  }

  push(value: T): QueueNode<T> {
    const node: QueueNode<T> = { value, prev: this.#tail, next: null, queued: true }
    if (this.#tail) this.#tail.next = node
    else this.#head = node
    this.#tail = node
    this.#length++
    return node
  }

  /** Puts `value` first: a call retried after a crash does not lose its turn. */
  unshift(value: T): QueueNode<T> {
    const node: QueueNode<T> = { value, prev: null, next: this.#head, queued: true }
    if (this.#head) this.#head.prev = node
    else this.#tail = node
    this.#head = node
    this.#length++
    return node
  }

  shift(): T | undefined {
    const node = this.#head
    if (node === null) return undefined
    this.remove(node)
    return node.value
  }

  /** Removes `node`; false if it was no longer queued. */
  remove(node: QueueNode<T>): boolean {
    if (!node.queued) return false
    node.queued = false
    if (node.prev) node.prev.next = node.next
    else this.#head = node.next
    if (node.next) node.next.prev = node.prev
    else this.#tail = node.prev
    node.prev = node.next = null
    this.#length--
    return true
  }

  /** Removes and returns every value, oldest first. */
  drain(): Array<T> {
    const out: Array<T> = []
    for (let v = this.shift(); v !== undefined; v = this.shift()) out.push(v)
    return out
  }
}
