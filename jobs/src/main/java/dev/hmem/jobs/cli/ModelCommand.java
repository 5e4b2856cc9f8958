package dev.hmem.jobs.cli;

import picocli.CommandLine.Command;

@Command(name = "model")
final class ModelCommand {}
