package dev.hmem.jobs.cli;

import picocli.CommandLine.Command;

@Command(name = "bank")
final class BankCommand {}
