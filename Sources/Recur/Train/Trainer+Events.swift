import Foundation

extension Trainer {
    /// Runs `run(out:)` on a thread of its own and delivers its events as an async sequence; the
    /// sequence ends after the last event, or throws the error that stopped the run.
    ///
    /// ```swift
    /// for try await event in trainer.events(out: nil) {
    ///     if case let .evaluation(step, e) = event { print(step, e.loss) }
    /// }
    /// print(trainer.summary!)   // set when the run ends
    /// ```
    /// One run at a time: do not touch the trainer or its model until the sequence has ended.
    /// Replaces `onEvent` for the duration of the run.
    public func events(out: URL?) -> AsyncThrowingStream<TrainEvent, any Error> {
        AsyncThrowingStream { continuation in
            let thread = Thread { [self] in
                let previous = onEvent
                onEvent = { continuation.yield($0) }
                defer { onEvent = previous }
                do {
                    summary = try run(out: out)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
