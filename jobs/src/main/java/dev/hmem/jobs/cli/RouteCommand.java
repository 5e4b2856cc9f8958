package dev.hmem.jobs.cli;

import picocli.CommandLine.Command;

@Command(name = "route")
final class RouteCommand {}
