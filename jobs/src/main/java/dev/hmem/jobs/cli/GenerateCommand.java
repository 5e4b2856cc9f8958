package dev.hmem.jobs.cli;

import picocli.CommandLine.Command;

@Command(name = "generate")
final class GenerateCommand {}
