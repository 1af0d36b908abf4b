# A stand-in for Vagrant's configuration API, enough to load vagrant/Vagrantfile
# without Vagrant and print what it configures as JSON: the box, the synced
# folders, the providers and, per machine, its network and its provisioners.
#
#   ruby vagrant_stub.rb path/to/Vagrantfile
require "json"

# Records every setting made on it; unknown settings become nested recorders.
class Recorder
  attr_reader :settings

  def initialize
    @settings = {}
  end

  def method_missing(name, *args, **kwargs, &block)
    key = name.to_s
    if key.end_with?("=")
      @settings[key.chomp("=")] = args.first
      return args.first
    end
    return (@settings[key] ||= Recorder.new) if args.empty? && kwargs.empty? && block.nil?

    (@settings["#{key}()"] ||= []) << { "args" => args, "options" => kwargs }
  end

  def respond_to_missing?(*)
    true
  end

  def to_json(*a)
    @settings.to_json(*a)
  end
end

# config.vm: machines, networks, synced folders, providers, provisioners.
class VM < Recorder
  attr_reader :machines

  def initialize
    super
    @machines = {}
  end

  def define(name, **options)
    machine = Machine.new
    yield machine if block_given?
    @machines[name.to_s] = { "options" => options, "vm" => machine.vm }
  end

  def provider(name)
    provider = Recorder.new
    override = Machine.new
    yield provider, override
    (@settings["providers"] ||= {})[name.to_s] = { "settings" => provider, "override" => override.vm }
  end

  def provision(name, **options)
    (@settings["provisioners"] ||= []) << options.merge(name: name)
  end

  def network(kind, **options)
    (@settings["networks"] ||= []) << options.merge(kind: kind)
  end

  def synced_folder(host, guest, **options)
    (@settings["synced_folders"] ||= []) << options.merge(host: host, guest: guest)
  end

  def to_json(*a)
    @settings.merge("machines" => @machines).to_json(*a)
  end
end

# The object handed to a `config.vm.define` block.
class Machine
  attr_reader :vm

  def initialize
    @vm = VM.new
  end
end

# Vagrant.configure("2") { |config| ... }
module Vagrant
  def self.configure(_version)
    config = Machine.new
    yield config
    puts JSON.pretty_generate(config.vm)
  end
end

vagrantfile = ARGV.fetch(0)
Dir.chdir(File.dirname(vagrantfile)) { load File.basename(vagrantfile) }
